// One rule for every route's input, before its own schema: PostgreSQL's text cannot hold a NUL
// character, so a NUL anywhere in a path parameter, query string or JSON body is refused as
// BAD_REQUEST naming where it is, instead of failing as a 500 at the first query.
import type { FastifyInstance } from "fastify";
import { BadRequestError } from "../errors.ts";

export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    for (const [part, value] of [["path", request.params], ["query", request.query], ["body", request.body]] as const) {
      const where = nulAt(value, part);
      if (where) throw new BadRequestError(`${where}: a NUL character cannot be stored`);
    }
  });
}

/** The path of the first string (or key) holding a NUL, or undefined. */
function nulAt(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return value.includes("\u0000") ? path : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = key.includes("\u0000") ? path : nulAt(item, `${path}.${key}`);
    if (at) return at;
  }
  return undefined;
}
