// The transitions of each alert (issue 12): pending, firing, resolved, as the evaluator stores
// them (alerts/repository.ts saveAlerts), for GET /api/v1/alerts/:fingerprint/history. The
// alerts table keeps only an alert's current episode.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE alert_transitions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      fingerprint text NOT NULL,
      at timestamptz NOT NULL,
      -- Null: the alert's first state.
      from_state text CHECK (from_state IN ('pending', 'firing', 'resolved')),
      to_state text NOT NULL CHECK (to_state IN ('pending', 'firing', 'resolved')),
      value double precision NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX alert_transitions_fingerprint ON alert_transitions (fingerprint, at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE alert_transitions`.execute(db);
}
