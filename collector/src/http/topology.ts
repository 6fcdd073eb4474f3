// GET /api/v1/topology and GET /api/v1/routes/:host: the same topology and
// route functions the CLI uses, as JSON.
import type { FastifyPluginAsync } from "fastify";
import { NetMapError } from "../errors.ts";
import type { Topology } from "../topology/model.ts";
import { formatHop, routeTo } from "../topology/routes.ts";

export interface TopologyRouteDeps {
  loadTopology: () => Promise<Topology>;
}

// Route and lookup failures are the client's to fix: 404 unknown, 409 ambiguous, 422 no route.
const STATUS_BY_CODE: Record<string, number> = {
  HOST_AMBIGUOUS: 409,
  ROUTE_CYCLE: 422,
  ROUTE_UNKNOWN_HOP: 422,
  ROUTE_NO_ADDRESS: 422,
  ROUTE_UNSAFE: 422,
};

export const topologyRoutes: FastifyPluginAsync<TopologyRouteDeps> = async (app, { loadTopology }) => {
  // Scoped to this plugin; anything else goes on to the app's handler.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof NetMapError && STATUS_BY_CODE[error.code]) {
      return reply.status(STATUS_BY_CODE[error.code]!).send({ error: { code: error.code, message: error.message } });
    }
    throw error;
  });

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
