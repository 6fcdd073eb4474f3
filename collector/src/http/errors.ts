// The one mapping from errors to HTTP responses: { error: { code, message } }.
// 5xx messages are logged, never shown.
import type { FastifyError, FastifyInstance } from "fastify";
import { BadRequestError, NetMapError, NotFoundError } from "../errors.ts";

const STATUS_BY_CODE: Record<string, number> = {
  [new BadRequestError("").code]: 400,
  [new NotFoundError("").code]: 404,
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | NetMapError, request, reply) => {
    if (error instanceof NetMapError && STATUS_BY_CODE[error.code]) {
      return reply.status(STATUS_BY_CODE[error.code]!).send({ error: { code: error.code, message: error.message } });
    }
    const status = "statusCode" in error && error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      const code = "validation" in error && error.validation ? "BAD_REQUEST" : (error.code ?? "BAD_REQUEST");
      return reply.status(status).send({ error: { code, message: error.message } });
    }
    request.log.error({ err: error }, "request failed");
    return reply.status(500).send({ error: { code: "INTERNAL", message: "internal error; see the collector's log" } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: "NOT_FOUND", message: `no route for ${request.method} ${request.url.split("?")[0]}` } }),
  );
}
