// GET /api/v1/audit: the audit trail, oldest first. Read-only: no route changes an entry.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { listAudit, MAX_AUDIT_ENTRIES } from "../audit/trail.ts";
import { optionalTime, parseRequest } from "../requests.ts";
import type { AppDeps } from "./app.ts";

const auditQuery = z.object({
  since: optionalTime(),
  limit: z.coerce.number({ error: "expected a number" }).int("expected a whole number").min(1).max(MAX_AUDIT_ENTRIES).optional(),
}).strict();

export const auditRoutes: FastifyPluginAsync<AppDeps> = async (app, { db }) => {
  app.get("/api/v1/audit", async (request) => {
    const { since, limit } = parseRequest(auditQuery, request.query);
    const events = await listAudit(db, { since: since ?? undefined, limit });
    return { events: events.map((e) => ({ ...e, at: e.at?.toISOString() })) };
  });
};
