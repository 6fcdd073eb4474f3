// GET /api/v1/topology and GET /api/v1/routes/:host: the same topology and
// route functions the CLI uses, as JSON.
import type { FastifyPluginAsync } from "fastify";
import type { Topology } from "../topology/model.ts";
import { slugOf } from "../topology/names.ts";
import { formatHop, routeTo } from "../topology/routes.ts";

export interface TopologyRouteDeps {
  loadTopology: () => Promise<Topology>;
}

// Lookup and route failures (unknown 404, ambiguous 409, no route 422) are answered by the
// app's error handler from the one table in errors.ts.
export const topologyRoutes: FastifyPluginAsync<TopologyRouteDeps> = async (app, { loadTopology }) => {
  app.get("/api/v1/topology", async () => ({ topology: withSlugs(await loadTopology()), generatedAt: new Date().toISOString() }));

  app.get<{ Params: { host: string } }>(
    "/api/v1/routes/:host",
    { schema: { params: { type: "object", properties: { host: { type: "string", minLength: 1, maxLength: 400 } }, required: ["host"] } } },
    async (request) => {
      const hops = routeTo(await loadTopology(), request.params.host);
      return { host: request.params.host, hops: hops.map((hop) => ({ ...hop, ssh: formatHop(hop) })) };
    },
  );
};

/** Every client, site and host with its slug, given or derived: the console builds `netmap ssh` references from them. */
function withSlugs(topology: Topology): Topology {
  return {
    ...topology,
    clients: topology.clients.map((client) => ({
      ...client,
      slug: slugOf(client),
      sites: client.sites.map((site) => ({ ...site, slug: slugOf(site), hosts: site.hosts.map((host) => ({ ...host, slug: slugOf(host) })) })),
    })),
  };
}
