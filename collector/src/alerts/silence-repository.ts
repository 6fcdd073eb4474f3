// Silences and acknowledgements in PostgreSQL, and the operations both transports (HTTP and
// gRPC) call: list/add/expire silences, acknowledge an alert.
import { sql, type Selectable } from "kysely";
import type { Db } from "../db/database.ts";
import type { SilencesTable } from "../db/schema.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { silenceState, validateMatchers, type Silence, type SilenceState } from "./silences.ts";

type SilenceRow = Selectable<SilencesTable>;

const toSilence = (row: SilenceRow): Silence => ({
  id: row.id, matchers: row.matchers, startsAt: row.starts_at, endsAt: row.ends_at, createdBy: row.created_by, comment: row.comment, createdAt: row.created_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Silences not yet expired (pending and active), soonest end first. */
export async function activeSilences(db: Db): Promise<Silence[]> {
  const rows = await db.selectFrom("silences").selectAll().where("ends_at", ">", sql<Date>`now()`).orderBy("ends_at").orderBy("created_at").execute();
  return rows.map(toSilence);
}

/** Every silence with its state; expired ones only from the last 7 days. */
export async function listSilences(db: Db, now = new Date()): Promise<Array<Silence & { state: SilenceState }>> {
  const { rows } = await sql<SilenceRow>`
    SELECT * FROM silences WHERE ends_at > now() - interval '7 days' ORDER BY ends_at <= now(), ends_at, created_at`.execute(db);
  return rows.map(toSilence).map((s) => ({ ...s, state: silenceState(s, now) }));
}

export interface NewSilence {
  matchers: unknown;
  startsAt?: Date | null;
  endsAt?: Date | null;
  durationSeconds?: number | null;
  createdBy?: string | null;
  comment?: string | null;
}

export async function addSilence(db: Db, input: NewSilence): Promise<Silence> {
  const matchers = validateMatchers(input.matchers);
  const startsAt = input.startsAt ?? new Date();
  let endsAt = input.endsAt ?? null;
  if (!endsAt && input.durationSeconds) endsAt = new Date(startsAt.getTime() + input.durationSeconds * 1000);
  if (!endsAt) throw new BadRequestError("a silence needs endsAt or a duration");
  if (Number.isNaN(startsAt.getTime()) || Number.isNaN(endsAt.getTime())) throw new BadRequestError("invalid startsAt or endsAt");
  if (endsAt <= startsAt) throw new BadRequestError("a silence must end after it starts");
  if (endsAt <= new Date()) throw new BadRequestError("a silence must end in the future");
  const comment = input.comment?.trim() ?? "";
  if (!comment) throw new BadRequestError("a silence needs a comment (why it is silenced)");
  const { rows } = await sql<SilenceRow>`
    INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment)
    VALUES (${JSON.stringify(matchers)}::jsonb, ${startsAt}, ${endsAt}, ${input.createdBy?.trim() || "unknown"}, ${comment})
    RETURNING *`.execute(db);
  return toSilence(rows[0]!);
}

/** Ends a silence now (a pending one never starts). Expiring an expired one changes nothing. */
export async function expireSilence(db: Db, id: string): Promise<Silence> {
  if (!UUID.test(id)) throw new NotFoundError(`no silence ${JSON.stringify(id)}`);
  const { rows } = await sql<SilenceRow>`
    UPDATE silences SET ends_at = least(ends_at, now()), starts_at = least(starts_at, now()) WHERE id = ${id}::uuid RETURNING *`.execute(db);
  if (!rows[0]) throw new NotFoundError(`no silence ${id}`);
  return toSilence(rows[0]);
}

/** Marks an open alert as seen by a person, for its current episode. */
export async function ackAlert(db: Db, fingerprint: string, by: string | null | undefined, comment: string | null | undefined): Promise<{ fingerprint: string; by: string; at: Date; comment: string }> {
  const { rows } = await sql<{ fingerprint: string; acknowledged_by: string; acknowledged_at: Date; ack_comment: string }>`
    UPDATE alerts SET acknowledged_by = ${by?.trim() || "unknown"}, acknowledged_at = now(), ack_comment = ${comment?.trim() ?? ""}
    WHERE fingerprint = ${fingerprint} AND state <> 'resolved'
    RETURNING fingerprint, acknowledged_by, acknowledged_at, ack_comment`.execute(db);
  if (!rows[0]) throw new NotFoundError(`no open alert ${JSON.stringify(fingerprint)}`);
  const r = rows[0];
  return { fingerprint: r.fingerprint, by: r.acknowledged_by, at: r.acknowledged_at, comment: r.ack_comment };
}

/** Takes a person's acknowledgement back: the open alert asks for attention again. */
export async function unackAlert(db: Db, fingerprint: string): Promise<{ fingerprint: string }> {
  const { rows } = await sql<{ fingerprint: string }>`
    UPDATE alerts SET acknowledged_by = NULL, acknowledged_at = NULL, ack_comment = NULL
    WHERE fingerprint = ${fingerprint} AND state <> 'resolved' RETURNING fingerprint`.execute(db);
  if (!rows[0]) throw new NotFoundError(`no open alert ${JSON.stringify(fingerprint)}`);
  return { fingerprint: rows[0].fingerprint };
}

/**
 * Records for each alert entering firing whether it was silenced (its resolve then stays
 * muted too) and clears an acknowledgement left from an earlier episode.
 */
export async function markFiring(db: Db, fired: Array<{ fingerprint: string; muted: boolean }>): Promise<void> {
  if (!fired.length) return;
  await sql`
    UPDATE alerts a SET muted = r.muted,
      acknowledged_by = CASE WHEN a.acknowledged_at < a.active_since THEN NULL ELSE a.acknowledged_by END,
      ack_comment = CASE WHEN a.acknowledged_at < a.active_since THEN NULL ELSE a.ack_comment END,
      acknowledged_at = CASE WHEN a.acknowledged_at < a.active_since THEN NULL ELSE a.acknowledged_at END
    FROM jsonb_to_recordset(${JSON.stringify(fired)}::jsonb) AS r(fingerprint text, muted boolean)
    WHERE a.fingerprint = r.fingerprint`.execute(db);
}

/** Which of these alerts had their firing muted. */
export async function mutedFingerprints(db: Db, fingerprints: string[]): Promise<Set<string>> {
  if (!fingerprints.length) return new Set();
  const { rows } = await sql<{ fingerprint: string }>`SELECT fingerprint FROM alerts WHERE muted AND fingerprint = ANY(${fingerprints}::text[])`.execute(db);
  return new Set(rows.map((r) => r.fingerprint));
}
