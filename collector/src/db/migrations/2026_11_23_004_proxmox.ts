// Frozen: never edit a migration that has shipped; add a new one.
// Proxmox VE discovery: which host is which node or guest of which cluster,
// its last known state, and series of its figures and of node storage.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // One row per node or guest a cluster ever listed, linked to the host it
  // became (or merged into). Kept when gone, so it can come back as itself.
  await sql`
    CREATE TABLE proxmox_resources (
      host_id bigint PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
      cluster text NOT NULL,
      type text NOT NULL CHECK (type IN ('node', 'qemu', 'lxc')),
      node text NOT NULL,
      -- 0 for a node.
      vmid integer NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      tags text[] NOT NULL DEFAULT '{}',
      -- QEMU guest agent / LXC interfaces state: ok, not-configured, not-running, unsupported, failed, not-asked.
      agent text,
      -- Last known interfaces [{ name, mac, addresses }], kept while a node is unreachable.
      interfaces jsonb NOT NULL DEFAULT '[]',
      -- Latest figures (cpu, mem, disk, rates, uptime) and the counters rates are computed from.
      latest jsonb NOT NULL DEFAULT '{}',
      -- Why the facts are the last known ones (node unreachable, call failed); null when fresh.
      stale_reason text,
      first_seen timestamptz NOT NULL DEFAULT now(),
      -- Last cycle that listed it; set when a complete listing no longer does.
      seen_at timestamptz NOT NULL DEFAULT now(),
      gone_at timestamptz
    )`.execute(db);
  // A guest is one VMID per cluster whatever node it migrates to.
  await sql`CREATE UNIQUE INDEX proxmox_resources_guest ON proxmox_resources (cluster, vmid) WHERE type <> 'node'`.execute(db);
  await sql`CREATE UNIQUE INDEX proxmox_resources_node ON proxmox_resources (cluster, node) WHERE type = 'node'`.execute(db);

  await sql`
    CREATE TABLE proxmox_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      collected_at timestamptz NOT NULL,
      status text NOT NULL,
      cpu_percent double precision,
      cpus double precision,
      memory_used_bytes bigint,
      memory_total_bytes bigint,
      disk_used_bytes bigint,
      disk_total_bytes bigint,
      network_rx_bytes_per_second double precision,
      network_tx_bytes_per_second double precision,
      disk_read_bytes_per_second double precision,
      disk_write_bytes_per_second double precision,
      uptime_seconds bigint,
      PRIMARY KEY (host_id, collected_at)
    )`.execute(db);

  await sql`
    CREATE TABLE proxmox_storage_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      storage text NOT NULL,
      collected_at timestamptz NOT NULL,
      type text NOT NULL,
      shared boolean NOT NULL,
      active boolean NOT NULL,
      total_bytes bigint,
      used_bytes bigint,
      available_bytes bigint,
      PRIMARY KEY (host_id, storage, collected_at)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["proxmox_storage_samples", "proxmox_samples", "proxmox_resources"]) await db.schema.dropTable(table).execute();
}
