import type { FastifyPluginAsync } from "fastify";
import type { AppDeps } from "./app.ts";

/** The collector's own metrics in the Prometheus text format. */
export const metricsRoutes: FastifyPluginAsync<AppDeps> = async (app, { registry }) => {
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
};
