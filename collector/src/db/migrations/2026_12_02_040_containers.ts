// Containers on the map (issue 19): each container an agent lists becomes a host of kind
// container under the reporting host. `container_engines` is each reporting host's last
// listing (its engine, socket and a digest of the facts, so an unchanged listing writes
// nothing); `containers` one row per container a host ever listed, keyed by the host it
// became and kept when gone, so it comes back as itself.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE container_engines (
      host_id bigint PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
      -- "docker" or "podman", and the Engine API socket the agent read: what container
      -- control runs on the host (docker --host / podman --url). Empty until a listing.
      engine text NOT NULL DEFAULT '',
      socket text NOT NULL DEFAULT '',
      -- sha256 of the last listing's facts and whether it was complete.
      digest text NOT NULL,
      -- Why the last listing was not complete (the engine did not answer); null when it was.
      stale_reason text,
      synced_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE containers (
      host_id bigint PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
      parent_host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      -- The engine's name for it (docker ps NAMES): what a person types, what Compose keeps.
      name text NOT NULL,
      container_id text NOT NULL,
      engine text NOT NULL,
      image text NOT NULL,
      state text NOT NULL,
      health text NOT NULL DEFAULT '',
      started_at timestamptz,
      -- [{ name, address, mac }] per network, sorted by name.
      networks jsonb NOT NULL DEFAULT '[]',
      ports text[] NOT NULL DEFAULT '{}',
      labels jsonb NOT NULL DEFAULT '{}',
      compose_project text,
      compose_service text,
      stale_reason text,
      first_seen timestamptz NOT NULL DEFAULT now(),
      seen_at timestamptz NOT NULL DEFAULT now(),
      gone_at timestamptz,
      UNIQUE (parent_host_id, name)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE containers`.execute(db);
  await sql`DROP TABLE container_engines`.execute(db);
}
