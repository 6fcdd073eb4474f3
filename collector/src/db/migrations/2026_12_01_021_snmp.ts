// Network devices polled over SNMP (issue 21): each device a host (kind network, source snmp
// unless it merged into a host someone else made known), its interfaces with their counters
// and rates, and the links its LLDP neighbours and ARP table show.
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE hosts DROP CONSTRAINT hosts_source_check`.execute(db);
  await sql`ALTER TABLE hosts ADD CONSTRAINT hosts_source_check CHECK (source IN ('person', 'agent', 'proxmox', 'snmp'))`.execute(db);
  await sql`
    CREATE TABLE snmp_devices (
      host_id bigint PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
      entry text NOT NULL,
      address text NOT NULL,
      sys_name text,
      sys_descr text NOT NULL DEFAULT '',
      sys_object_id text,
      chassis_id text,
      uptime_seconds float8,
      -- The previous poll's uptime: DeviceRebooted compares them.
      previous_uptime_seconds float8,
      polled_at timestamptz,
      poll_ms float8,
      reachable boolean NOT NULL DEFAULT true,
      error_code text,
      error text,
      -- Polls in a row that failed; 0 after an answer.
      failures integer NOT NULL DEFAULT 0,
      UNIQUE (entry, address)
    )`.execute(db);
  await sql`CREATE INDEX snmp_devices_chassis ON snmp_devices (chassis_id) WHERE chassis_id IS NOT NULL`.execute(db);
  await sql`
    CREATE TABLE snmp_interfaces (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      if_index integer NOT NULL,
      name text NOT NULL,
      alias text NOT NULL DEFAULT '',
      mac text,
      admin_up boolean,
      oper text,
      speed_bps float8,
      -- The raw counters (numeric: a Counter64 is past bigint) and their width, for the next rates.
      counters jsonb NOT NULL DEFAULT '{}',
      in_bps float8,
      out_bps float8,
      in_errors_per_second float8,
      out_errors_per_second float8,
      in_discards_per_second float8,
      out_discards_per_second float8,
      polled_at timestamptz NOT NULL,
      PRIMARY KEY (host_id, if_index)
    )`.execute(db);
  // A time series like the others (migration 015): partitioned by day, rolled up per minute and
  // hour by housekeeping (series/catalogue.ts lists it), dropped whole by retention.
  await sql`
    CREATE TABLE snmp_interface_samples (
      host_id bigint NOT NULL,
      interface text NOT NULL,
      collected_at timestamptz NOT NULL,
      -- 1 when oper up, 0 when not: its mean over a bucket is the share of time up.
      oper_up double precision,
      in_bps double precision,
      out_bps double precision,
      in_errors_per_second double precision,
      out_errors_per_second double precision,
      PRIMARY KEY (host_id, collected_at, interface)
    ) PARTITION BY RANGE (collected_at)`.execute(db);
  for (const tier of ["1m", "1h"]) {
    const metrics = ["oper_up", "in_bps", "out_bps", "in_errors_per_second", "out_errors_per_second"]
      .flatMap((m) => [`${m} double precision`, `${m}_min double precision`, `${m}_max double precision`]).join(", ");
    await sql`
      CREATE TABLE ${sql.table(`snmp_interface_samples_${tier}`)} (
        host_id bigint NOT NULL, interface text NOT NULL, bucket timestamptz NOT NULL, samples integer NOT NULL, ${sql.raw(metrics)},
        PRIMARY KEY (host_id, bucket, interface)
      ) PARTITION BY RANGE (bucket)`.execute(db);
  }
  await sql`
    CREATE TRIGGER snmp_interface_samples_rollup_invalidate AFTER INSERT ON snmp_interface_samples
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION series_rollup_invalidate()`.execute(db);
  // What a device's LLDP and ARP tables say, as of its last poll; peer_host_id when NetMap knows the other end.
  await sql`
    CREATE TABLE snmp_links (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('lldp', 'arp')),
      if_index integer,
      local_port text NOT NULL,
      peer_host_id bigint REFERENCES hosts (id) ON DELETE SET NULL,
      peer_chassis text,
      peer_port text,
      peer_name text,
      peer_address text,
      peer_mac text,
      seen_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX snmp_links_host ON snmp_links (host_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE snmp_links, snmp_interface_samples, snmp_interface_samples_1m, snmp_interface_samples_1h, snmp_interfaces, snmp_devices`.execute(db);
  await sql`DELETE FROM hosts WHERE source = 'snmp'`.execute(db);
  await sql`ALTER TABLE hosts DROP CONSTRAINT hosts_source_check`.execute(db);
  await sql`ALTER TABLE hosts ADD CONSTRAINT hosts_source_check CHECK (source IN ('person', 'agent', 'proxmox'))`.execute(db);
}
