// Authentication, roles and audit of the HTTP server. Every route has its entry in HTTP_ACCESS
// (auth/access.ts): open, or the role it needs; a route registered without one stops the app
// from starting. Any path no route serves needs a token too, so a 404 tells nothing to a caller
// without one. Matched on the route the router chose, not on the raw URL, so no spelling of a
// path reaches a closed route through an open one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { auditTarget, HTTP_ACCESS, type Access } from "../auth/access.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { roleAllows, type Caller } from "../auth/roles.ts";
import type { AuditTrail } from "../audit/trail.ts";
import { answerFor, ANSWERS } from "../errors.ts";
import { ticketFromProtocols, type TicketStore } from "../terminal/tickets.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent it, once the token is checked; null on open routes. */
    caller: Caller | null;
    /** The error code this request was answered with, for the audit trail. */
    failureCode: string | null;
  }
}

/** The access entry of the route fastify chose; HEAD follows its GET. Undefined for no route. */
export function routeAccess(method: string, route: string | undefined): Access | undefined {
  if (route === undefined) return undefined;
  return HTTP_ACCESS[`${method === "HEAD" ? "GET" : method} ${route}`];
}

function refuse(reply: FastifyReply, code: keyof typeof ANSWERS, message: string) {
  return reply.status(ANSWERS[code].http).header("cache-control", "no-store").send({ error: { code, message } });
}

/**
 * Adds the checks to every route of app; call before the routes are registered. On a route
 * whose entry says `ticket`, a terminal ticket offered in Sec-WebSocket-Protocol stands for the
 * bearer token it was issued against (terminal/tickets.ts): browsers cannot set headers on a WebSocket.
 */
export function requireRoles(app: FastifyInstance, authenticator: Authenticator, audit: AuditTrail, tickets?: TicketStore): void {
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      if (method !== "HEAD" && !routeAccess(method, route.url)) {
        throw new Error(`HTTP route ${method} ${route.url} has no entry in HTTP_ACCESS (collector/src/auth/access.ts): declare the role it needs`);
      }
    }
  });
  app.decorateRequest("caller", null);
  app.decorateRequest("failureCode", null);

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const access = routeAccess(request.method, request.routeOptions.url);
    if (access?.role === "open") return;
    const ticket = access?.ticket && request.headers.authorization === undefined ? ticketFromProtocols(request.headers["sec-websocket-protocol"]) : undefined;
    if (access && ticket !== undefined) {
      const caller = await tickets?.redeem(ticket, String((request.params as Record<string, unknown>).host ?? ""));
      if (!caller) return refuse(reply, "UNAUTHENTICATED", "the terminal ticket is unknown, used, expired or for another host; ask for a new one");
      request.caller = caller;
      if (!roleAllows(caller.role, access.role)) {
        request.failureCode = "FORBIDDEN";
        return refuse(reply, "FORBIDDEN", `this needs the ${access.role} role; the token ${caller.name} has ${caller.role}`);
      }
      return;
    }
    const path = request.url.split("?")[0]!;
    const authentication = await authenticator.authenticate(request.headers.authorization, request.ip, "http", `${request.method} ${path}`);
    if (authentication.kind === "throttled") {
      reply.header("retry-after", String(authentication.retryAfterSeconds));
      return refuse(reply, "TOO_MANY_FAILURES", `too many failed authentications from this address; retry in ${authentication.retryAfterSeconds} s`);
    }
    if (authentication.kind === "refused") {
      reply.header("www-authenticate", 'Bearer realm="netmap"');
      return refuse(
        reply,
        "UNAUTHENTICATED",
        authentication.tokenSent ? "the token sent is not one of the collector's" : "this needs a token: send Authorization: Bearer <token>",
      );
    }
    request.caller = authentication.caller;
    // No route: the not-found handler answers, to a caller with a token.
    if (access && !roleAllows(authentication.caller.role, access.role)) {
      request.failureCode = "FORBIDDEN";
      return refuse(reply, "FORBIDDEN", `this needs the ${access.role} role; the token ${authentication.caller.name} has ${authentication.caller.role}`);
    }
  });

  app.addHook("onError", async (request, _reply, error) => {
    request.failureCode = answerFor(error)?.code ?? ("validation" in error && error.validation ? "BAD_REQUEST" : "INTERNAL");
  });

  // Before the answer leaves, so whoever got it can already read the entry.
  app.addHook("onSend", async (request, reply, payload) => {
    const access = routeAccess(request.method, request.routeOptions.url);
    if (!access?.audit || !request.caller) return payload;
    const input = { ...(request.body as object | undefined), ...(request.params as object) };
    await audit.record({
      caller: request.caller,
      action: access.audit,
      target: auditTarget(access, input),
      source: request.ip,
      outcome: reply.statusCode < 400 ? "ok" : (request.failureCode ?? String(reply.statusCode)),
      transport: "http",
    });
    return payload;
  });
}
