// Frozen: never edit a migration that has shipped; add a new one.
// The notifications outbox (issue 16): each alert transition is stored here in the
// transaction that moves the alert, and sent (webhooks, Alertmanager, NATS events) by the
// collector holding the alert-outbox lease, which deletes it once handed to the notifiers.
// A collector killed between the two leaves the row for the next holder.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE alert_outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      -- { alert, to } as the evaluator made it (alerts/engine.ts Transition)
      transition jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE alert_outbox`.execute(db);
}
