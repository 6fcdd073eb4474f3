// Web terminal sessions (issue 13): who opened a shell on which host through which hops, when,
// how it ended, and its asciicast v2 recording, written in chunks while the session runs so a
// collector that dies keeps what was flushed. Deleted whole by the terminal's retention.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE terminal_sessions (
      id bigserial PRIMARY KEY,
      actor text NOT NULL,
      role text NOT NULL,
      -- client/site/name of the target, and every hop as "client/site/name user@address:port".
      host text NOT NULL,
      chain jsonb NOT NULL,
      source text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz,
      exit_status integer,
      -- exit, closed (the browser went away), idle, error: why it ended.
      end_reason text,
      width integer NOT NULL,
      height integer NOT NULL,
      input_recorded boolean NOT NULL,
      recorded_bytes bigint NOT NULL DEFAULT 0,
      truncated boolean NOT NULL DEFAULT false
    )`.execute(db);
  await sql`CREATE INDEX terminal_sessions_actor ON terminal_sessions (actor, started_at)`.execute(db);
  await sql`CREATE INDEX terminal_sessions_age ON terminal_sessions ((coalesce(ended_at, started_at)))`.execute(db);
  // The cast's event lines after its header, in order.
  await sql`
    CREATE TABLE terminal_recording_chunks (
      session_id bigint NOT NULL REFERENCES terminal_sessions (id) ON DELETE CASCADE,
      seq integer NOT NULL,
      events text NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE terminal_recording_chunks, terminal_sessions`.execute(db);
}
