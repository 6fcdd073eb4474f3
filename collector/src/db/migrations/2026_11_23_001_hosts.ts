// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE hosts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      agent_id text UNIQUE,
      hostname text NOT NULL,
      first_seen timestamptz NOT NULL DEFAULT now(),
      -- Latest report, as the agent dated it and as the collector received it.
      -- Status is judged on received_at: the collector's clock, not the agent's.
      collected_at timestamptz,
      received_at timestamptz,
      boot_id text,
      seq bigint,
      interval_seconds double precision,
      -- Headline figures of the latest report, for the host list.
      cpu_percent double precision,
      memory_percent double precision,
      load1 double precision,
      logical_cores integer,
      memory_total_bytes bigint,
      fullest_mountpoint text,
      fullest_mount_percent double precision,
      addresses text[] NOT NULL DEFAULT '{}',
      -- The latest full report (HostReport as JSON).
      state jsonb
    )`.execute(db);

  // One row per stored report: the time series of headline metrics, and the
  // idempotency key (agent, boot, seq) — redelivery and spool replay store nothing twice.
  await sql`
    CREATE TABLE report_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      boot_id text NOT NULL,
      seq bigint NOT NULL,
      collected_at timestamptz NOT NULL,
      cpu_percent double precision,
      cpu_user_percent double precision,
      cpu_system_percent double precision,
      cpu_iowait_percent double precision,
      cpu_steal_percent double precision,
      load1 double precision NOT NULL,
      load5 double precision NOT NULL,
      load15 double precision NOT NULL,
      memory_used_bytes bigint NOT NULL,
      memory_available_bytes bigint NOT NULL,
      swap_used_bytes bigint NOT NULL,
      disk_read_bytes_per_second double precision,
      disk_write_bytes_per_second double precision,
      network_rx_bytes_per_second double precision,
      network_tx_bytes_per_second double precision,
      PRIMARY KEY (host_id, boot_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX report_samples_host_time ON report_samples (host_id, collected_at)`.execute(db);

  await sql`
    CREATE TABLE mount_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      mountpoint text NOT NULL,
      collected_at timestamptz NOT NULL,
      size_bytes bigint NOT NULL,
      used_bytes bigint NOT NULL,
      available_bytes bigint NOT NULL,
      inodes_total bigint NOT NULL,
      inodes_used bigint NOT NULL,
      PRIMARY KEY (host_id, mountpoint, collected_at)
    )`.execute(db);

  // Latest state per host, replaced with each newer report.
  await sql`
    CREATE TABLE host_mounts (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      mountpoint text NOT NULL,
      device text NOT NULL,
      fs_type text NOT NULL,
      size_bytes bigint NOT NULL,
      used_bytes bigint NOT NULL,
      available_bytes bigint NOT NULL,
      inodes_total bigint NOT NULL,
      inodes_used bigint NOT NULL,
      PRIMARY KEY (host_id, mountpoint)
    )`.execute(db);

  await sql`
    CREATE TABLE host_listeners (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      protocol text NOT NULL,
      address text NOT NULL,
      port integer NOT NULL,
      pid integer,
      process text NOT NULL,
      -- When this socket was first seen listening: "a service disappeared" and
      -- "an unexpected new port" are judged from it.
      first_seen timestamptz NOT NULL,
      PRIMARY KEY (host_id, protocol, address, port)
    )`.execute(db);

  await sql`
    CREATE TABLE host_interfaces (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      name text NOT NULL,
      mac text NOT NULL,
      addresses text[] NOT NULL,
      up boolean NOT NULL,
      virtual boolean NOT NULL,
      PRIMARY KEY (host_id, name)
    )`.execute(db);
  // Topology merges discovered hosts with declared ones by MAC and address.
  await sql`CREATE INDEX host_interfaces_mac ON host_interfaces (mac) WHERE mac <> ''`.execute(db);

  // Messages the collector refused (bad bytes, wrong subject): counted and
  // kept for a look, since they were acked and are gone from the stream.
  await sql`
    CREATE TABLE rejected_reports (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      received_at timestamptz NOT NULL DEFAULT now(),
      subject text NOT NULL,
      reason text NOT NULL,
      size_bytes integer NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["rejected_reports", "host_interfaces", "host_listeners", "host_mounts", "mount_samples", "report_samples", "hosts"]) {
    await db.schema.dropTable(table).execute();
  }
}
