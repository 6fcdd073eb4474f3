// Frozen: never edit a migration that has shipped; add a new one.
// The sample tables become partitioned by time (PostgreSQL's declarative
// partitioning), so that retention drops whole partitions instead of deleting
// rows, and gain minute and hour rollups (avg, min, max per metric). Existing
// samples are copied into the new tables, partition by partition; the rollups
// of that history are computed by the collector's housekeeping afterwards.
//
// What changes in the rows:
// - report_samples keeps a boot as an integer (host_boots.id), not its text.
// - Each table has one unique index, leading (host_id, collected_at): it serves
//   the series range scans and the idempotency check at once. A report is
//   identified by (agent, boot, seq) and always carries the same collected_at,
//   so (host, collected_at, boot, seq) refuses a replay as before.
// - No foreign key to hosts: checking one per row costs ingest, and adding or
//   dropping a partition would lock the hosts table that ingest updates. The
//   samples of a deleted host are unreachable and leave with their partitions.
//
// Partitions: raw samples by day, the minute tier by week (from a Monday), the
// hour tier by month, UTC; named <table>_p<YYYYMMDD> after their first day.
import { sql, type Kysely } from "kysely";

const RAW = {
  report_samples: `
      host_id bigint NOT NULL,
      boot integer NOT NULL,
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
      PRIMARY KEY (host_id, collected_at, boot, seq)`,
  mount_samples: `
      host_id bigint NOT NULL,
      mountpoint text NOT NULL,
      collected_at timestamptz NOT NULL,
      size_bytes bigint NOT NULL,
      used_bytes bigint NOT NULL,
      available_bytes bigint NOT NULL,
      inodes_total bigint NOT NULL,
      inodes_used bigint NOT NULL,
      PRIMARY KEY (host_id, collected_at, mountpoint)`,
  proxmox_samples: `
      host_id bigint NOT NULL,
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
      PRIMARY KEY (host_id, collected_at)`,
  proxmox_storage_samples: `
      host_id bigint NOT NULL,
      storage text NOT NULL,
      collected_at timestamptz NOT NULL,
      type text NOT NULL,
      shared boolean NOT NULL,
      active boolean NOT NULL,
      total_bytes bigint,
      used_bytes bigint,
      available_bytes bigint,
      PRIMARY KEY (host_id, collected_at, storage)`,
} as const;

/** Label columns and metrics of each raw table, as its rollups hold them. */
const ROLLED: Record<keyof typeof RAW, { labels: string[]; metrics: string[] }> = {
  report_samples: {
    labels: [],
    metrics: [
      "cpu_percent", "cpu_user_percent", "cpu_system_percent", "cpu_iowait_percent", "cpu_steal_percent", "load1", "load5", "load15",
      "memory_used_bytes", "memory_available_bytes", "swap_used_bytes", "disk_read_bytes_per_second", "disk_write_bytes_per_second",
      "network_rx_bytes_per_second", "network_tx_bytes_per_second",
    ],
  },
  mount_samples: { labels: ["mountpoint"], metrics: ["size_bytes", "used_bytes", "available_bytes", "inodes_total", "inodes_used"] },
  proxmox_samples: {
    labels: [],
    metrics: [
      "cpu_percent", "cpus", "memory_used_bytes", "memory_total_bytes", "disk_used_bytes", "disk_total_bytes",
      "network_rx_bytes_per_second", "network_tx_bytes_per_second", "disk_read_bytes_per_second", "disk_write_bytes_per_second", "uptime_seconds",
    ],
  },
  proxmox_storage_samples: { labels: ["storage"], metrics: ["total_bytes", "used_bytes", "available_bytes"] },
};

const DAY_MS = 86_400_000;
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE host_boots (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
      boot_id text NOT NULL,
      UNIQUE (host_id, boot_id)
    )`.execute(db);
  await sql`INSERT INTO host_boots (host_id, boot_id) SELECT DISTINCT host_id, boot_id FROM report_samples ORDER BY 1, 2`.execute(db);

  await sql`DROP INDEX report_samples_host_time, mount_samples_host_time, proxmox_storage_samples_host_time`.execute(db);
  for (const [table, columns] of Object.entries(RAW)) {
    await sql`ALTER TABLE ${sql.table(table)} RENAME TO ${sql.table(`${table}_unpartitioned`)}`.execute(db);
    await sql`ALTER INDEX ${sql.table(`${table}_pkey`)} RENAME TO ${sql.table(`${table}_unpartitioned_pkey`)}`.execute(db);
    await sql`CREATE TABLE ${sql.table(table)} (${sql.raw(columns)}) PARTITION BY RANGE (collected_at)`.execute(db);
    // One partition per day that holds samples, so the copy below has somewhere to go.
    const { rows } = await sql<{ day: Date }>`
      SELECT DISTINCT date_bin('1 day', collected_at, '2000-01-01Z') AS day FROM ${sql.table(`${table}_unpartitioned`)}`.execute(db);
    for (const { day } of rows) {
      const from = day.getTime();
      await sql`CREATE TABLE ${sql.table(`${table}_p${dayName(from)}`)} PARTITION OF ${sql.table(table)}
                FOR VALUES FROM (${sql.lit(new Date(from).toISOString())}) TO (${sql.lit(new Date(from + DAY_MS).toISOString())})`.execute(db);
    }
  }
  await sql`
    INSERT INTO report_samples
    SELECT o.host_id, b.id, o.seq, o.collected_at, o.cpu_percent, o.cpu_user_percent, o.cpu_system_percent, o.cpu_iowait_percent,
           o.cpu_steal_percent, o.load1, o.load5, o.load15, o.memory_used_bytes, o.memory_available_bytes, o.swap_used_bytes,
           o.disk_read_bytes_per_second, o.disk_write_bytes_per_second, o.network_rx_bytes_per_second, o.network_tx_bytes_per_second
    FROM report_samples_unpartitioned o JOIN host_boots b ON b.host_id = o.host_id AND b.boot_id = o.boot_id`.execute(db);
  for (const table of ["mount_samples", "proxmox_samples", "proxmox_storage_samples"]) {
    await sql`INSERT INTO ${sql.table(table)} SELECT * FROM ${sql.table(`${table}_unpartitioned`)}`.execute(db);
  }
  for (const table of Object.keys(RAW)) await sql`DROP TABLE ${sql.table(`${table}_unpartitioned`)}`.execute(db);

  // Rollups: per bucket, how many samples it summarises and each metric's mean
  // (under the raw column's name, so a metric's SQL reads the same on every tier),
  // minimum and maximum.
  for (const [table, { labels, metrics }] of Object.entries(ROLLED)) {
    for (const tier of ["1m", "1h"]) {
      const columns = [
        "host_id bigint NOT NULL",
        ...labels.map((l) => `${l} text NOT NULL`),
        "bucket timestamptz NOT NULL",
        "samples integer NOT NULL",
        ...metrics.flatMap((m) => [`${m} double precision`, `${m}_min double precision`, `${m}_max double precision`]),
        `PRIMARY KEY (host_id, bucket${labels.map((l) => `, ${l}`).join("")})`,
      ];
      await sql`CREATE TABLE ${sql.table(`${table}_${tier}`)} (${sql.raw(columns.join(", "))}) PARTITION BY RANGE (bucket)`.execute(db);
    }
  }

  // How far the rollups are done. Samples inserted below minute_announced (a
  // spool replay, a late Proxmox cycle, a skewed clock) are logged in
  // series_rollup_invalid by the trigger below, and their buckets recomputed.
  const { rows: earliest } = await sql<{ at: Date | null }>`
    SELECT min(m) AS at FROM (
      SELECT min(collected_at) AS m FROM report_samples UNION ALL SELECT min(collected_at) FROM mount_samples
      UNION ALL SELECT min(collected_at) FROM proxmox_samples UNION ALL SELECT min(collected_at) FROM proxmox_storage_samples) AS t`.execute(db);
  const start = sql`date_bin('1 hour', ${earliest[0]?.at ?? null}::timestamptz, '2000-01-01Z')`;
  await sql`
    CREATE TABLE series_rollup_state (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      minute_announced timestamptz NOT NULL,
      minute_done timestamptz NOT NULL,
      hour_done timestamptz NOT NULL
    )`.execute(db);
  await sql`
    INSERT INTO series_rollup_state (minute_announced, minute_done, hour_done)
    SELECT s, s, s FROM (SELECT coalesce(${start}, date_bin('1 hour', now(), '2000-01-01Z')) AS s) AS t`.execute(db);
  // Appended to without a unique key, so an insert never waits on the housekeeper's delete.
  await sql`CREATE TABLE series_rollup_invalid (series text NOT NULL, host_id bigint NOT NULL, minute timestamptz NOT NULL)`.execute(db);
  await sql`
    CREATE FUNCTION series_rollup_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO series_rollup_invalid (series, host_id, minute)
      SELECT DISTINCT TG_TABLE_NAME, host_id, date_bin('1 minute', collected_at, '2000-01-01Z') FROM new_rows
      WHERE collected_at < (SELECT minute_announced FROM series_rollup_state);
      RETURN NULL;
    END $$`.execute(db);
  for (const table of Object.keys(RAW)) {
    await sql`
      CREATE TRIGGER ${sql.table(`${table}_rollup_invalidate`)} AFTER INSERT ON ${sql.table(table)}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION series_rollup_invalidate()`.execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error("2026_12_01_015_partitioned_series cannot be undone: restore a backup taken before it");
}
