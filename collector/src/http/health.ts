import type { FastifyBaseLogger, FastifyPluginAsync } from "fastify";
import { pingDatabase, type Db } from "../db/database.ts";
import { unstored } from "../ingest/lag.ts";
import type { AppDeps } from "./app.ts";

/**
 * /healthz (alive: the database answers and NATS is connected) and /readyz (fit to take
 * traffic: also the report consumer's backlog under ingest.ready_max_lag), 200 or 503 naming
 * what is not. Neither needs a token, so each says only a word per check: the database's or
 * JetStream's own message (names, users, hosts) goes to the log.
 */
export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { db, natsConnected, consumerLag, config }) => {
  app.get("/healthz", async (request, reply) => {
    const checks = { database: await databaseCheck(db, request.log), nats: natsConnected() ? "ok" : "disconnected" };
    const healthy = Object.values(checks).every((v) => v === "ok");
    return reply.status(healthy ? 200 : 503).send({ status: healthy ? "ok" : "unhealthy", checks });
  });

  app.get("/readyz", async (request, reply) => {
    const nats = natsConnected() ? "ok" : "disconnected";
    const [database, backlog] = await Promise.all([databaseCheck(db, request.log), nats === "ok" ? readBacklog() : undefined]);
    const bound = config.ingest.readyMaxLag;
    const consumer = backlog === undefined ? "unknown" : backlog > bound ? "behind" : "ok";
    const checks = { database, nats, consumer };
    const ready = Object.values(checks).every((v) => v === "ok");
    reply.header("cache-control", "no-store");
    return reply.status(ready ? 200 : 503).send({
      status: ready ? "ready" : "not ready",
      checks,
      ...(backlog !== undefined && { consumer: { unstoredReports: backlog, readyMaxLag: bound } }),
    });

    async function readBacklog(): Promise<number | undefined> {
      if (!consumerLag) return undefined;
      try {
        return unstored(await consumerLag());
      } catch (error) {
        request.log.warn({ err: error }, "ready check: cannot read the report consumer's backlog from JetStream");
        return undefined;
      }
    }
  });
};

async function databaseCheck(db: Db, log: FastifyBaseLogger): Promise<"ok" | "unavailable"> {
  return pingDatabase(db).then(
    () => "ok" as const,
    (error: Error) => {
      log.warn({ err: error }, "health check: the database does not answer");
      return "unavailable" as const;
    },
  );
}
