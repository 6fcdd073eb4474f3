// GET /api/v1/topology and GET /api/v1/routes/:host: the same topology and
// route functions the CLI uses, as JSON.
import type { FastifyPluginAsync } from "fastify";
import type { Topology } from "../topology/model.ts";
import { formatHop, routeTo } from "../topology/routes.ts";

export interface TopologyRouteDeps {
  loadTopology: () => Promise<Topology>;
}

// Lookup and route failures (unknown 404, ambiguous 409, no route 422) are answered by the
// app's error handler from the one table in errors.ts.
export const topologyRoutes: FastifyPluginAsync<TopologyRouteDeps> = async (app, { loadTopology }) => {
  app.get("/api/v1/topology", async () => ({ topology: await loadTopology(), generatedAt: new Date().toISOString() }));

  app.get<{ Params: { host: string } }>(
    "/api/v1/routes/:host",
    { schema: { params: { type: "object", properties: { host: { type: "string", minLength: 1, maxLength: 400 } }, required: ["host"] } } },
    async (request) => {
      const hops = routeTo(await loadTopology(), request.params.host);
      return { host: request.params.host, hops: hops.map((hop) => ({ ...hop, ssh: formatHop(hop) })) };
    },
  );
};
