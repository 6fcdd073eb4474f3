// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Named API tokens: only the SHA-256 of each is kept (the token is 32 random bytes, so a
  // slow hash adds nothing); the token itself is shown once, by `netmap token create`.
  await sql`
    CREATE TABLE api_tokens (
      name text PRIMARY KEY,
      role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
      token_sha256 bytea NOT NULL UNIQUE,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    )`.execute(db);

  // Who did what, when, from where. Append-only: no API changes a row, and the database
  // refuses UPDATE and DELETE too, so a bug in a later route cannot either.
  await sql`
    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      role text NOT NULL,
      action text NOT NULL,
      target text NOT NULL,
      source text NOT NULL,
      outcome text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE INDEX audit_log_at ON audit_log (at)`.execute(db);

  // NATS identities minted per host (nats.agent_authorization): the public nkey only; the seed
  // went to the host once. Keyed by CLIENT/SITE/NAME, as netmap agent revoke names it.
  await sql`
    CREATE TABLE agent_identities (
      host text PRIMARY KEY,
      agent_id text NOT NULL UNIQUE,
      public_key text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("agent_identities").execute();
  await db.schema.dropTable("audit_log").execute();
  await sql`DROP FUNCTION audit_log_append_only()`.execute(db);
  await db.schema.dropTable("api_tokens").execute();
}
