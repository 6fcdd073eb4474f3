import type { FastifyPluginAsync } from "fastify";
import { pingDatabase } from "../db/database.ts";
import type { AppDeps } from "./app.ts";

/**
 * 200 when the database answers and NATS is connected; 503 naming what is not. The probe
 * needs no token, so it says only "unavailable": the database's own message (its name, user,
 * host) goes to the log.
 */
export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { db, natsConnected }) => {
  app.get("/healthz", async (request, reply) => {
    const checks = {
      database: await pingDatabase(db).then(
        () => "ok",
        (error: Error) => {
          request.log.warn({ err: error }, "health check: the database does not answer");
          return "unavailable";
        },
      ),
      nats: natsConnected() ? "ok" : "disconnected",
    };
    const healthy = Object.values(checks).every((v) => v === "ok");
    return reply.status(healthy ? 200 : 503).send({ status: healthy ? "ok" : "unhealthy", checks });
  });
};
