// The audit trail: each operator or admin action stored (who, when, what, from where, how it
// ended) and published on netmap.v1.audit.<action>. Rows are only ever inserted: no API
// changes or removes one, and the table's trigger refuses UPDATE and DELETE.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { AuditEvent } from "../../../proto/gen/netmap/v1/audit.ts";
import { encodeAuditEvent } from "../../../proto/src/codec.ts";
import { auditSubject } from "../../../proto/src/subjects.ts";
import type { AuditAction } from "../auth/access.ts";
import type { Caller } from "../auth/roles.ts";
import type { Db } from "../db/database.ts";

export interface AuditRecord {
  caller: Caller;
  action: AuditAction;
  target: string;
  /** The caller's address. */
  source: string;
  /** "ok", or the error code the caller was answered with. */
  outcome: string;
  transport: "http" | "grpc";
}

export interface AuditTrail {
  /** Stores and publishes the entry. Never throws: the action is done by then, so a failure is logged (error) instead. */
  record(entry: AuditRecord): Promise<void>;
}

export const MAX_AUDIT_ENTRIES = 1000;

export function auditTrail(db: Db, nc: Pick<NatsConnection, "publish"> | undefined, log: Logger): AuditTrail {
  return {
    async record(entry) {
      const row = await db
        .insertInto("audit_log")
        .values({
          actor: entry.caller.name, role: entry.caller.role, action: entry.action, target: entry.target, source: entry.source, outcome: entry.outcome,
          detail: JSON.stringify({ transport: entry.transport }),
        })
        .returning(["id", "at"])
        .executeTakeFirstOrThrow()
        .catch((error: unknown) => void log.error({ err: error, action: entry.action, actor: entry.caller.name, target: entry.target }, "could not record an audit entry"));
      if (!row) return;
      const { caller, ...rest } = entry;
      const event: AuditEvent = { ...rest, actor: caller.name, role: caller.role, id: row.id, at: row.at };
      try {
        nc?.publish(auditSubject(entry.action), encodeAuditEvent(event));
      } catch (error) {
        // Stored is what counts; the event is for listeners who may be away.
        log.warn({ err: error, action: entry.action }, "could not publish an audit event");
      }
    },
  };
}

/** The trail oldest first, from since (all when undefined), at most limit entries (the newest). */
export async function listAudit(db: Db, options: { since?: Date; limit?: number } = {}): Promise<AuditEvent[]> {
  const limit = Math.min(options.limit || MAX_AUDIT_ENTRIES, MAX_AUDIT_ENTRIES);
  let query = db.selectFrom("audit_log").selectAll().orderBy("id", "desc").limit(limit);
  if (options.since) query = query.where("at", ">=", options.since);
  const rows = await query.execute();
  return rows.reverse().map((row) => ({
    id: row.id, at: row.at, actor: row.actor, role: row.role, action: row.action, target: row.target, source: row.source, outcome: row.outcome,
    transport: String((row.detail as { transport?: unknown }).transport ?? ""),
  }));
}
