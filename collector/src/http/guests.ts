// Proxmox guest actions over HTTP: POST /api/v1/hosts/:id/actions/:action starts one (202 with
// its task), GET /api/v1/tasks/:id follows the task, GET /api/v1/hosts/:id/snapshots lists the
// guest's snapshots, GET /api/v1/backups every guest's newest backup. The work is
// proxmox/guest-actions.ts and proxmox/repository.ts, the same for gRPC.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Db } from "../db/database.ts";
import type { GuestControl } from "../proxmox/guest-actions.ts";
import { guestBackups } from "../proxmox/repository.ts";
import { jsonObject, parseRequest } from "../requests.ts";

const ID_PARAMS = { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }, required: ["id"] } as const;
const ACTION_PARAMS = { type: "object", properties: { ...ID_PARAMS.properties, action: { type: "string", maxLength: 32 } }, required: ["id", "action"] } as const;

export const guestActionBody = jsonObject(
  {
    snapshot: z.string({ error: "expected a string" }).max(40, "expected at most 40 characters").optional(),
    description: z.string({ error: "expected a string" }).max(1000, "expected at most 1000 characters").optional(),
    // PVE's own bound for shutdown's timeout is none; a day is more than any guest needs.
    timeoutSeconds: z.number({ error: "expected a number" }).int("expected whole seconds").min(0).max(86400).optional(),
    forceStop: z.boolean({ error: "expected true or false" }).optional(),
  },
  { strict: true },
);

export const guestRoutes: FastifyPluginAsync<{ guests: GuestControl; db: Db }> = async (app, { guests, db }) => {
  app.get("/api/v1/backups", async () => ({ backups: await guestBackups(db) }));

  app.post<{ Params: { id: number; action: string } }>("/api/v1/hosts/:id/actions/:action", { schema: { params: ACTION_PARAMS } }, async (request, reply) => {
    const options = parseRequest(guestActionBody, request.body);
    const task = await guests.act(request.params.id, request.params.action, options, request.caller?.name ?? "unknown");
    return reply.status(202).header("location", `/api/v1/tasks/${task.id}`).send({ task });
  });

  app.get<{ Params: { id: number } }>("/api/v1/tasks/:id", { schema: { params: ID_PARAMS } }, async (request) => ({ task: await guests.task(request.params.id) }));

  app.get<{ Params: { id: number } }>("/api/v1/hosts/:id/snapshots", { schema: { params: ID_PARAMS } }, async (request) => ({
    snapshots: await guests.snapshots(request.params.id),
  }));
};
