// buildApp wires the HTTP routes; it never listens, so tests use inject().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CollectorConfig } from "../config.ts";
import type { Db } from "../db/database.ts";
import type { ReadConsumerLag } from "../ingest/lag.ts";
import { alertRoutes } from "./alerts.ts";
import { requireToken } from "./auth.ts";
import { answerFrameworkError, registerErrorHandling } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { refuseNulCharacters } from "./input.ts";
import { hostRoutes } from "./hosts.ts";
import { mapRoutes, type MapDeps } from "./map.ts";
import { metricsRoutes } from "./metrics.ts";
import { topologyRoutes } from "./topology.ts";
import { webRoutes } from "./web.ts";

export interface AppDeps {
  config: CollectorConfig;
  db: Db;
  registry: Registry;
  natsConnected: () => boolean;
  /** The report consumer's backlog for /readyz; without it (an app with no ingest) the consumer check is "unknown". */
  consumerLag?: ReadConsumerLag;
  /** The bearer token /api/v1/* and /metrics require: the collector's one token, the gRPC service's too. */
  token: string;
  /** The topology for the map and the Ansible inventory; their routes exist only when given. */
  loadTopology?: MapDeps["loadTopology"];
}

export async function buildApp(deps: AppDeps, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: log.child({ component: "http" }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024, frameworkErrors: answerFrameworkError });
  registerErrorHandling(app);
  refuseNulCharacters(app);
  requireToken(app, deps.token);
  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(hostRoutes, deps);
  await app.register(alertRoutes, deps);
  if (deps.loadTopology) await app.register(mapRoutes, { loadTopology: deps.loadTopology });
  if (deps.loadTopology) await app.register(topologyRoutes, { loadTopology: deps.loadTopology });
  await app.register(webRoutes);
  return app;
}
