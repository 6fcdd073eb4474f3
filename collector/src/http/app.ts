// buildApp wires the HTTP routes; it never listens, so tests use inject().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CollectorConfig } from "../config.ts";
import type { Db } from "../db/database.ts";
import type { ReadConsumerLag } from "../ingest/lag.ts";
import type { TlsIdentity } from "../tls.ts";
import { alertRoutes } from "./alerts.ts";
import { requireRoles } from "./auth.ts";
import { auditRoutes } from "./audit.ts";
import { createAuthenticator, type Authenticator } from "../auth/authenticator.ts";
import { auditTrail, type AuditTrail } from "../audit/trail.ts";
import { answerFrameworkError, registerErrorHandling } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { refuseNulCharacters } from "./input.ts";
import { hostRoutes } from "./hosts.ts";
import { guestRoutes } from "./guests.ts";
import type { GuestControl } from "../proxmox/guest-actions.ts";
import { mapRoutes, type MapDeps } from "./map.ts";
import { metricsRoutes } from "./metrics.ts";
import { topologyRoutes } from "./topology.ts";
import { containerRoutes } from "./containers.ts";
import { webRoutes } from "./web.ts";
import websocket from "@fastify/websocket";
import { terminalRoutes } from "./terminal.ts";
import { terminalService } from "../terminal/session.ts";
import { ticketStore } from "../terminal/tickets.ts";

export interface AppDeps {
  config: CollectorConfig;
  db: Db;
  registry: Registry;
  natsConnected: () => boolean;
  /** The report consumer's backlog for /readyz; without it (an app with no ingest) the consumer check is "unknown". */
  consumerLag?: ReadConsumerLag;
  /** The configured (or generated) admin token, the gRPC service's too. */
  token: string;
  /** Shared with the gRPC service (one failure count per address); made from token and db when not given. */
  authenticator?: Authenticator;
  /** Where audited routes record; made on db alone (no NATS event) when not given. */
  audit?: AuditTrail;
  /** Served over HTTPS when given (http.tls); serve.ts replaces it on SIGHUP. */
  tls?: TlsIdentity;
  /** The topology for the map and the Ansible inventory; their routes exist only when given. */
  loadTopology?: MapDeps["loadTopology"];
  /** Proxmox guest actions; their routes exist only when given (serve always gives them). */
  guests?: GuestControl;
}

export async function buildApp(deps: AppDeps, log: Logger): Promise<FastifyInstance> {
  // One instance type whether or not it speaks TLS: nothing here depends on the server's class.
  const app = Fastify({ loggerInstance: log.child({ component: "http" }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024, frameworkErrors: answerFrameworkError, ...(deps.tls && { https: { cert: deps.tls.cert, key: deps.tls.key } }) }) as unknown as FastifyInstance;
  registerErrorHandling(app);
  refuseNulCharacters(app);
  const audit = deps.audit ?? auditTrail(deps.db, undefined, log);
  const tickets = ticketStore(deps.db);
  // The web terminal's socket; terminal.ts has the one WebSocket route. 64 KiB: a paste, not a file.
  // Before requireRoles: its onRequest hook marks an upgrade, so a refused one still has its socket closed.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  requireRoles(app, deps.authenticator ?? createAuthenticator({ token: deps.token, db: deps.db, log, registry: deps.registry }), audit, tickets);
  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(hostRoutes, deps);
  await app.register(alertRoutes, deps);
  if (deps.guests) await app.register(guestRoutes, { guests: deps.guests, db: deps.db });
  await app.register(auditRoutes, deps);
  if (deps.loadTopology) await app.register(mapRoutes, { loadTopology: deps.loadTopology });
  if (deps.loadTopology) await app.register(topologyRoutes, { loadTopology: deps.loadTopology });
  if (deps.loadTopology) {
    const terminals = terminalService({ db: deps.db, log: log.child({ component: "terminal" }), ssh: deps.config.ssh, terminal: deps.config.terminal, audit, loadTopology: deps.loadTopology });
    app.addHook("onClose", () => terminals.stop());
    await app.register(terminalRoutes, { db: deps.db, loadTopology: deps.loadTopology, tickets, terminals });
  }
  if (deps.loadTopology) await app.register(containerRoutes, { db: deps.db, loadTopology: deps.loadTopology });
  await app.register(webRoutes);
  return app;
}
