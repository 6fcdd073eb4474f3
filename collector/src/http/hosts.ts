import type { FastifyPluginAsync } from "fastify";
import { NotFoundError } from "../errors.ts";
import { getHost, listHosts } from "../hosts/repository.ts";
import { parseSeriesQuery, querySeries } from "../hosts/series.ts";
import { adoptHost } from "../topology/adoption.ts";
import type { AppDeps } from "./app.ts";

export const hostRoutes: FastifyPluginAsync<AppDeps> = async (app, { db, config }) => {
  app.get("/api/v1/hosts", async () => ({ hosts: await listHosts(db, config), generatedAt: new Date().toISOString() }));

  app.get<{ Params: { id: number } }>(
    "/api/v1/hosts/:id",
    { schema: { params: { type: "object", properties: { id: { type: "integer", minimum: 1 } }, required: ["id"] } } },
    async (request) => {
      const host = await getHost(db, request.params.id, config);
      if (!host) throw new NotFoundError(`no host with id ${request.params.id}`);
      return { host };
    },
  );

  // A person vouches for a host: its agent (the one claiming it, or agentId) and SSH address (docs/topology.md, "Adoption").
  app.post<{ Params: { id: number }; Body: { agentId?: string; address?: string } | null }>(
    "/api/v1/hosts/:id/adopt",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ["id"] },
        body: { type: ["object", "null"], properties: { agentId: { type: "string", maxLength: 64 }, address: { type: "string", maxLength: 253 } }, additionalProperties: false },
      },
    },
    async (request) => ({ adoption: await adoptHost(db, request.params.id, { agentId: request.body?.agentId, address: request.body?.address }) }),
  );

  // One metric of one host over [from, to]; parameters, metrics and shape in docs/architecture.md ("Series API").
  app.get<{ Params: { id: number }; Querystring: Record<string, string | string[] | undefined> }>(
    "/api/v1/hosts/:id/series",
    { schema: { params: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ["id"] } } },
    async (request) => querySeries(db, request.params.id, parseSeriesQuery(request.query)),
  );
};
