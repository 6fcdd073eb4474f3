// What a caller sends (an HTTP JSON body, a gRPC request message) is checked with zod, the
// schema library of the config, beside the route or method that takes it. A failure is a
// BadRequestError naming the field: 400 over HTTP, INVALID_ARGUMENT over gRPC.
import { z } from "zod";
import { BadRequestError } from "./errors.ts";

/** The request as its schema types it, or a BadRequestError listing what is wrong. */
export function parseRequest<S extends z.ZodType>(schema: S, request: unknown): z.output<S> {
  const parsed = schema.safeParse(request);
  if (parsed.success) return parsed.data;
  throw new BadRequestError(
    parsed.error.issues
      .map((issue) => {
        if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
        // A message with its own colon names what it is about already (as the config's do).
        return issue.path.length === 0 || issue.message.includes(":") ? issue.message : `${issue.path.join(".")}: ${issue.message}`;
      })
      .join("; "),
  );
}

/**
 * A JSON body that is an object, or absent (no body, or null) and read as {}. Unknown fields
 * are ignored, or refused when strict.
 */
export const jsonObject = <Shape extends z.ZodRawShape>(shape: Shape, options: { strict?: boolean } = {}) =>
  z.preprocess((body) => body ?? {}, (options.strict ? z.strictObject : z.object)(shape, { error: "expected a JSON object" }));

/** An optional text field: absent and null both mean "not given". */
export const optionalText = (maxLength = Number.MAX_SAFE_INTEGER) =>
  z
    .string({ error: "expected a string" })
    .max(maxLength, `expected at most ${maxLength} characters`)
    .nullish()
    .transform((value) => value ?? null);

/** An optional ISO 8601 time. */
export const optionalTime = () =>
  z
    .string({ error: "expected an ISO 8601 time" })
    .refine((value) => !Number.isNaN(new Date(value).getTime()), "expected an ISO 8601 time")
    .nullish()
    .transform((value) => (value == null ? null : new Date(value)));
