// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // One row per fingerprint: the current (or last) episode of that alert. The
  // state survives a collector restart, so it neither forgets nor re-pages.
  await sql`
    CREATE TABLE alerts (
      fingerprint text PRIMARY KEY,
      rule text NOT NULL,
      severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      labels jsonb NOT NULL,
      annotations jsonb NOT NULL,
      state text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
      value double precision NOT NULL,
      active_since timestamptz NOT NULL,
      starts_at timestamptz,
      ends_at timestamptz,
      host_id bigint REFERENCES hosts (id) ON DELETE CASCADE,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX alerts_open ON alerts (state) WHERE state <> 'resolved'`.execute(db);
  await sql`CREATE INDEX alerts_host ON alerts (host_id)`.execute(db);

  // Every delivery attempt to every notifier, queryable from the API.
  await sql`
    CREATE TABLE alert_deliveries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      delivery_id uuid NOT NULL,
      receiver text NOT NULL,
      fingerprints text[] NOT NULL,
      attempt integer NOT NULL,
      at timestamptz NOT NULL,
      status integer,
      error text,
      delivered boolean NOT NULL,
      final boolean NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX alert_deliveries_delivery ON alert_deliveries (delivery_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("alert_deliveries").execute();
  await db.schema.dropTable("alerts").execute();
}
