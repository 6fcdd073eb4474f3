// Errors as HTTP responses: { error: { code, message } }, the status from the one table
// (ANSWERS in errors.ts). 5xx messages are logged, never shown.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { answerFor, type NetMapError } from "../errors.ts";

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | NetMapError, request, reply) => {
    const answer = answerFor(error);
    if (answer) return reply.status(answer.http).send({ error: { code: answer.code, message: answer.message } });
    // fastify's own refusals (unparsable JSON, a wrong content type, a failed params schema) keep their status.
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

/**
 * fastify's option `frameworkErrors`: what it refuses before routing (a path with a broken
 * %-escape) is answered in the same shape as every other error, not fastify's own.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400;
  void reply.status(status).send({ error: { code: "BAD_REQUEST", message: error.message } });
}
