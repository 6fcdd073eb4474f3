// POST /api/v1/hosts/:id/container/:action: the console's start, stop and restart of a
// container (containers/actions.ts), run by the collector over SSH through the container's
// host's chain. Operator role, audited as container_action (auth/access.ts).
import type { FastifyPluginAsync } from "fastify";
import { actOnContainer } from "../containers/actions.ts";
import type { Db } from "../db/database.ts";
import type { Topology } from "../topology/model.ts";

export interface ContainerRouteDeps {
  db: Db;
  loadTopology: () => Promise<Topology>;
}

export const containerRoutes: FastifyPluginAsync<ContainerRouteDeps> = async (app, { db, loadTopology }) => {
  app.post<{ Params: { id: number; action: "start" | "stop" | "restart" } }>(
    "/api/v1/hosts/:id/container/:action",
    {
      schema: {
        params: {
          type: "object",
          properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, action: { type: "string", enum: ["start", "stop", "restart"] } },
          required: ["id", "action"],
        },
      },
    },
    async (request) => ({ result: await actOnContainer(db, await loadTopology(), request.params.id, request.params.action) }),
  );
};
