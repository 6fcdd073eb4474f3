import type { FastifyPluginAsync } from "fastify";
import { nodeExporterText } from "../hosts/exposition.ts";
import { hostsToExport } from "../hosts/repository.ts";
import type { AppDeps } from "./app.ts";

/** The Prometheus text format's content type, as prom-client and node_exporter send it. */
const EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The collector's own metrics, and every host's as node_exporter names them (docs/grafana.md). */
export const metricsRoutes: FastifyPluginAsync<AppDeps> = async (app, { registry, db, config }) => {
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get("/metrics/hosts", async (_request, reply) => reply.type(EXPOSITION_TYPE).send(nodeExporterText(await hostsToExport(db, config))));
};
