// The terminal_sessions and terminal_recording_chunks tables: every SQL statement about
// terminal sessions and their recordings.
import { sql, type Selectable } from "kysely";
import type { Db } from "../db/database.ts";
import type { TerminalSessionsTable } from "../db/schema.ts";
import type { TerminalSessionSummary } from "../http/api-types.ts";

export interface NewSession {
  actor: string;
  role: string;
  host: string;
  chain: string[];
  source: string;
  width: number;
  height: number;
  inputRecorded: boolean;
}

export async function insertSession(db: Db, session: NewSession): Promise<{ id: number; startedAt: Date }> {
  const row = await db
    .insertInto("terminal_sessions")
    .values({
      actor: session.actor, role: session.role, host: session.host, chain: JSON.stringify(session.chain), source: session.source,
      width: session.width, height: session.height, input_recorded: session.inputRecorded,
    })
    .returning(["id", "started_at"])
    .executeTakeFirstOrThrow();
  return { id: row.id, startedAt: row.started_at };
}

export async function appendChunk(db: Db, sessionId: number, seq: number, events: string, recordedBytes: number, truncated: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto("terminal_recording_chunks").values({ session_id: sessionId, seq, events }).execute();
    await tx.updateTable("terminal_sessions").set({ recorded_bytes: recordedBytes, truncated }).where("id", "=", sessionId).execute();
  });
}

export async function endSession(db: Db, sessionId: number, end: { exitStatus: number | null; reason: string }): Promise<void> {
  await db.updateTable("terminal_sessions").set({ ended_at: new Date(), exit_status: end.exitStatus, end_reason: end.reason }).where("id", "=", sessionId).execute();
}

type SessionRow = Selectable<TerminalSessionsTable>;
const selectSessions = (db: Db) => db.selectFrom("terminal_sessions").selectAll();

function summary(row: SessionRow): TerminalSessionSummary {
  return {
    id: row.id, actor: row.actor, role: row.role, host: row.host, chain: row.chain as unknown as string[], source: row.source,
    startedAt: row.started_at.toISOString(), endedAt: row.ended_at?.toISOString() ?? null, exitStatus: row.exit_status, endReason: row.end_reason,
    width: row.width, height: row.height, inputRecorded: row.input_recorded, recordedBytes: Number(row.recorded_bytes), truncated: row.truncated,
  };
}

/** Newest first; only actor's own unless actor is null (an admin sees every session). */
export async function listSessions(db: Db, actor: string | null, limit = 500): Promise<TerminalSessionSummary[]> {
  let query = selectSessions(db).orderBy("id", "desc").limit(limit);
  if (actor !== null) query = query.where("actor", "=", actor);
  return (await query.execute()).map(summary);
}

export async function getSession(db: Db, id: number, actor: string | null): Promise<{ session: TerminalSessionSummary; events: string } | undefined> {
  let query = selectSessions(db).where("id", "=", id);
  if (actor !== null) query = query.where("actor", "=", actor);
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  const chunks = await db.selectFrom("terminal_recording_chunks").select("events").where("session_id", "=", id).orderBy("seq").execute();
  return { session: summary(row), events: chunks.map((c) => c.events).join("") };
}

/** Deletes sessions that ended (or, never ended by a collector that died, started) before cutoff; their chunks go with them. */
export async function deleteSessionsBefore(db: Db, cutoff: Date): Promise<number> {
  const result = await db.deleteFrom("terminal_sessions").where(sql<Date>`coalesce(ended_at, started_at)`, "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
