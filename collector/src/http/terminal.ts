// The web terminal (docs/terminal.md): a ticket for the WebSocket (the browser cannot send
// Authorization on one; tickets.ts), the WebSocket itself, and the recorded sessions.
// Registered only when the collector has a topology (AppDeps.loadTopology): a terminal goes
// where a route goes.
import type { FastifyPluginAsync } from "fastify";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { roleAllows } from "../auth/roles.ts";
import type { Topology } from "../topology/model.ts";
import { routeTo } from "../topology/routes.ts";
import { castHeader } from "../terminal/recording.ts";
import { getSession, listSessions } from "../terminal/repository.ts";
import type { TerminalService } from "../terminal/session.ts";
import { TERMINAL_PROTOCOL, TICKET_SECONDS, type TicketStore } from "../terminal/tickets.ts";
import type { Db } from "../db/database.ts";
import type { SessionsResponse, TerminalTicketResponse } from "./api-types.ts";

export interface TerminalRouteDeps {
  db: Db;
  loadTopology: () => Promise<Topology>;
  tickets: TicketStore;
  terminals: TerminalService;
}

const HOST_PARAMS = { type: "object", properties: { host: { type: "string", minLength: 1, maxLength: 400 } }, required: ["host"] } as const;
const SIZE = { type: "integer", minimum: 1, maximum: 1000 } as const;
const SESSION_PARAMS = { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ["id"] } as const;

export const terminalRoutes: FastifyPluginAsync<TerminalRouteDeps> = async (app, { db, loadTopology, tickets, terminals }) => {
  // The route is checked now, so a host with none is answered here (404, 409, 422), not on the socket.
  app.post<{ Params: { host: string } }>("/api/v1/terminal/:host/ticket", { schema: { params: HOST_PARAMS } }, async (request, reply) => {
    routeTo(await loadTopology(), request.params.host);
    const body: TerminalTicketResponse = { ticket: await tickets.issue(request.caller!, request.params.host), expiresInSeconds: TICKET_SECONDS, protocol: TERMINAL_PROTOCOL };
    return reply.header("cache-control", "no-store").send(body);
  });

  app.route<{ Params: { host: string }; Querystring: { cols: number; rows: number } }>({
    method: "GET",
    url: "/api/v1/terminal/:host",
    schema: { params: HOST_PARAMS, querystring: { type: "object", properties: { cols: { ...SIZE, default: 80 }, rows: { ...SIZE, default: 24 } }, additionalProperties: false } },
    handler: async () => {
      throw new BadRequestError("this is a WebSocket: open it with Upgrade: websocket (docs/terminal.md)");
    },
    wsHandler: (socket, request) => {
      void terminals.open(socket, { caller: request.caller!, source: request.ip, host: request.params.host, cols: request.query.cols, rows: request.query.rows });
    },
  });

  // An operator sees the sessions they opened; an admin sees everyone's.
  const actorFilter = (role: string, name: string) => (roleAllows(role as "admin", "admin") ? null : name);

  app.get("/api/v1/sessions", async (request): Promise<SessionsResponse> => ({
    sessions: await listSessions(db, actorFilter(request.caller!.role, request.caller!.name)),
  }));

  app.get<{ Params: { id: number } }>("/api/v1/sessions/:id", { schema: { params: SESSION_PARAMS } }, async (request, reply) => {
    const found = await getSession(db, request.params.id, actorFilter(request.caller!.role, request.caller!.name));
    if (!found) throw new NotFoundError(`no terminal session ${request.params.id} of yours`);
    return reply
      .type("application/x-asciicast; charset=utf-8")
      .header("cache-control", "no-store")
      .header("x-content-type-options", "nosniff")
      .send(castHeader(found.session) + found.events);
  });
};
