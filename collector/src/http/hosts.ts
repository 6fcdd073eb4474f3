import type { FastifyPluginAsync } from "fastify";
import { NotFoundError } from "../errors.ts";
import { getHost, listHosts } from "../hosts/repository.ts";
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
};
