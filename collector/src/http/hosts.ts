import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { NotFoundError } from "../errors.ts";
import { getHost, listHosts } from "../hosts/repository.ts";
import { parseSeriesQuery, querySeries } from "../hosts/series.ts";
import { hostSparklines } from "../hosts/sparklines.ts";
import { jsonObject, parseRequest } from "../requests.ts";
import { adoptHost } from "../topology/adoption.ts";
import type { AppDeps } from "./app.ts";

// What adoptHost checks (agent id, address) it checks for every caller; here only the shape.
/** hosts.id is a bigint; beyond 2^53 a number is no longer the id it was written as. */
const HOST_ID_PARAMS = { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ["id"] } as const;

const adoptBody = jsonObject(
  {
    agentId: z.string({ error: "expected a string" }).max(64, "expected at most 64 characters").optional(),
    address: z.string({ error: "expected a string" }).max(253, "expected at most 253 characters").optional(),
  },
  { strict: true },
);

export const hostRoutes: FastifyPluginAsync<AppDeps> = async (app, { db, config }) => {
  app.get("/api/v1/hosts", async () => ({ hosts: await listHosts(db, config), generatedAt: new Date().toISOString() }));

  // Every host's last hour of CPU and memory, for the hosts list (hosts/sparklines.ts).
  app.get("/api/v1/hosts/sparklines", async () => hostSparklines(db));

  app.get<{ Params: { id: number } }>(
    "/api/v1/hosts/:id",
    { schema: { params: HOST_ID_PARAMS } },
    async (request) => {
      const host = await getHost(db, request.params.id, config);
      if (!host) throw new NotFoundError(`no host with id ${request.params.id}`);
      return { host };
    },
  );

  // A person vouches for a host: its agent (the one claiming it, or agentId) and SSH address (docs/topology.md, "Adoption").
  app.post<{ Params: { id: number } }>(
    "/api/v1/hosts/:id/adopt",
    { schema: { params: HOST_ID_PARAMS } },
    async (request) => ({ adoption: await adoptHost(db, request.params.id, parseRequest(adoptBody, request.body)) }),
  );

  // One metric of one host over [from, to]; parameters, metrics and shape in docs/architecture.md ("Series API").
  app.get<{ Params: { id: number }; Querystring: Record<string, string | string[] | undefined> }>(
    "/api/v1/hosts/:id/series",
    { schema: { params: HOST_ID_PARAMS } },
    async (request) => querySeries(db, request.params.id, parseSeriesQuery(request.query)),
  );
};
