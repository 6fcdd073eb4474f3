// Frozen: never edit a migration that has shipped; add a new one.
// The topology: clients → sites → hosts. A host row is the same row whether a
// person declared it, an agent reported it, or both (merged); the topology
// columns hold what a person (or discovery) stated, fact_sources who stated each.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE clients (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL UNIQUE
    )`.execute(db);

  await sql`
    CREATE TABLE sites (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_id bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
      name text NOT NULL,
      -- Name of the site's host that is the default first hop.
      bastion text,
      UNIQUE (client_id, name)
    )`.execute(db);

  await sql`
    ALTER TABLE hosts
      ADD COLUMN site_id bigint REFERENCES sites (id) ON DELETE SET NULL,
      -- The topology name, unique per site; null for a host only an agent knows
      -- (its hostname stands in).
      ADD COLUMN name text,
      ADD COLUMN kind text NOT NULL DEFAULT 'server'
        CHECK (kind IN ('server', 'hypervisor', 'vm', 'container', 'network')),
      ADD COLUMN address text,
      ADD COLUMN ssh_user text,
      ADD COLUMN ssh_port integer NOT NULL DEFAULT 22 CHECK (ssh_port BETWEEN 1 AND 65535),
      -- Names of hosts of the same site: the hop before this one, the hypervisor.
      ADD COLUMN via text,
      ADD COLUMN parent text,
      ADD COLUMN labels jsonb NOT NULL DEFAULT '{}',
      -- Who made the host known (person, agent, proxmox), and who stated each fact:
      -- { "address": "person", ... }. Discovery never overwrites a person's fact.
      ADD COLUMN source text NOT NULL DEFAULT 'agent' CHECK (source IN ('person', 'agent', 'proxmox')),
      ADD COLUMN fact_sources jsonb NOT NULL DEFAULT '{}'`.execute(db);
  await sql`CREATE UNIQUE INDEX hosts_site_name ON hosts (site_id, name) WHERE site_id IS NOT NULL`.execute(db);
  // Agents are matched to declared hosts by name, then address.
  await sql`CREATE INDEX hosts_name_lower ON hosts (lower(name)) WHERE agent_id IS NULL`.execute(db);
  await sql`CREATE INDEX hosts_address ON hosts (address) WHERE agent_id IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE hosts
      DROP COLUMN site_id, DROP COLUMN name, DROP COLUMN kind, DROP COLUMN address, DROP COLUMN ssh_user,
      DROP COLUMN ssh_port, DROP COLUMN via, DROP COLUMN parent, DROP COLUMN labels, DROP COLUMN source,
      DROP COLUMN fact_sources`.execute(db);
  await db.schema.dropTable("sites").execute();
  await db.schema.dropTable("clients").execute();
}
