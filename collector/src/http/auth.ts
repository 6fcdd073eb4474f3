// Bearer-token authentication of the HTTP server, the same token the gRPC admin service takes.
// Closed unless listed open: /api/v1/* and /metrics (and any path no route serves, so a 404
// tells nothing to a caller without the token) need `Authorization: Bearer <token>`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { bearerMatches } from "../auth/token.ts";
import { ANSWERS } from "../errors.ts";

/**
 * Routes anyone may fetch: the liveness and readiness probes, and the status page's static files (the page
 * holds no data; what it shows comes from /api/v1 with the token). Matched on the route the
 * router chose, not on the raw URL, so no spelling of a path reaches a closed route through here.
 */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/", "/app.js", "/app.js.map", "/app.css", "/style.css"]);

export const UNAUTHENTICATED_CODE = "UNAUTHENTICATED" satisfies keyof typeof ANSWERS;

/** Adds the check to every route of app; call before the routes are registered. */
export function requireToken(app: FastifyInstance, token: string): void {
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && OPEN_ROUTES.has(route)) return;
    if (bearerMatches(request.headers.authorization, token)) return;
    // What was asked and by whom, never what was sent as a token.
    request.log.warn(
      { method: request.method, path: request.url.split("?")[0], ip: request.ip, sentToken: request.headers.authorization !== undefined },
      "refused an HTTP request without the right token",
    );
    return reply
      .status(ANSWERS[UNAUTHENTICATED_CODE].http)
      .header("www-authenticate", 'Bearer realm="netmap"')
      .header("cache-control", "no-store")
      .send({
        error: {
          code: UNAUTHENTICATED_CODE,
          message: request.headers.authorization === undefined
            ? "this needs the collector's token: send Authorization: Bearer <token>"
            : "the token sent is not the collector's",
        },
      });
  });
}
