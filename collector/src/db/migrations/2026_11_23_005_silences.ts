// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Silences as Alertmanager's: matchers [{name, value, isRegex}] over an alert's labels
  // (alertname and severity included), muting its notifications during [starts_at, ends_at).
  await sql`
    CREATE TABLE silences (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      matchers jsonb NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      created_by text NOT NULL,
      comment text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_at >= starts_at)
    )`.execute(db);
  await sql`CREATE INDEX silences_ends_at ON silences (ends_at)`.execute(db);

  // Acknowledgement: a person has seen this episode of the alert. muted: its firing was
  // silenced, so its resolve is not sent either.
  await sql`
    ALTER TABLE alerts
      ADD COLUMN acknowledged_by text,
      ADD COLUMN acknowledged_at timestamptz,
      ADD COLUMN ack_comment text,
      ADD COLUMN muted boolean NOT NULL DEFAULT false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE alerts DROP COLUMN acknowledged_by, DROP COLUMN acknowledged_at, DROP COLUMN ack_comment, DROP COLUMN muted`.execute(db);
  await db.schema.dropTable("silences").execute();
}
