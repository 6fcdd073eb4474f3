// npm run bench:storage — disk per stored report, and a 30-day chart with a year of data.
//
// 1. BENCH_REPORTS reports (default 20,000; the figure is 1 M) from BENCH_AGENTS agents
//    go through the ingest store and a housekeeping run (rollups); bytes on disk of every series
//    table, partition, index and TOAST, divided by the reports. Reference in the same run: the
//    same rows in the schema before partitioning (boot id as text, a second index, a foreign key).
// 2. A year of one host's data as the retention keeps it (default 14 d raw at 10 s, 90 d of
//    minute rollups, a year of hour rollups, generated in SQL), then GET …/series for the last 30
//    days, BENCH_QUERIES times (median, p95). Reference in the same run: the same chart bucketed
//    from raw 10 s samples, over the 14 days raw samples exist (what the API did before tiers).
import { sql } from "kysely";
import { migrateToLatest, openDatabase } from "../collector/src/db/database.ts";
import { parseSeriesQuery, querySeries } from "../collector/src/hosts/series.ts";
import { storeBatch } from "../collector/src/ingest/store.ts";
import { SERIES_TABLES, TIERS, tierTable } from "../collector/src/series/catalogue.ts";
import { housekeep, preparePartitions } from "../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../collector/src/series/retention.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { sampleReport } from "../test/helpers/reports.ts";

const REPORTS = Number(process.env.BENCH_REPORTS ?? 20_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 20);
const DAY = 86_400;

const database = await createTestDatabase();
const db = openDatabase(database.url);
try {
  await migrateToLatest(db);
  const now = new Date();
  await preparePartitions(db, DEFAULT_RETENTION, now);

  // 1. Bytes per report.
  const start = now.getTime() - (REPORTS / AGENTS) * 10_000;
  for (let i = 0; i < REPORTS; i += 500) {
    const batch = Array.from({ length: Math.min(500, REPORTS - i) }, (_, k) => {
      const n = i + k;
      const agentId = `bench-${n % AGENTS}`;
      const report = sampleReport({ agentId, hostname: agentId, seq: Math.floor(n / AGENTS) + 1, collectedAt: new Date(start + Math.floor(n / AGENTS) * 10_000 + (n % AGENTS)) });
      report.cpu!.usagePercent = (n * 7) % 100;
      return { report, receivedAt: now };
    });
    await storeBatch(db, batch);
  }
  await housekeep(db, DEFAULT_RETENTION, now);
  const seriesTables = [...SERIES_TABLES.flatMap((t) => TIERS.map((tier) => tierTable(t, tier))), "host_boots"];
  const bytes = async (tables: string[]) => {
    const { rows } = await sql<{ bytes: number }>`
      SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c
      WHERE c.relkind = 'r' AND (c.relname = ANY(${tables}) OR EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid AND p.relname = ANY(${tables})))`.execute(db);
    return rows[0]!.bytes;
  };
  const after = await bytes(seriesTables);
  // The same rows as the schema before migration 015 held them.
  await sql`
    CREATE TABLE old_report_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE, boot_id text NOT NULL, seq bigint NOT NULL, collected_at timestamptz NOT NULL,
      cpu_percent float8, cpu_user_percent float8, cpu_system_percent float8, cpu_iowait_percent float8, cpu_steal_percent float8,
      load1 float8 NOT NULL, load5 float8 NOT NULL, load15 float8 NOT NULL, memory_used_bytes bigint NOT NULL, memory_available_bytes bigint NOT NULL,
      swap_used_bytes bigint NOT NULL, disk_read_bytes_per_second float8, disk_write_bytes_per_second float8,
      network_rx_bytes_per_second float8, network_tx_bytes_per_second float8, PRIMARY KEY (host_id, boot_id, seq))`.execute(db);
  await sql`CREATE INDEX old_report_samples_host_time ON old_report_samples (host_id, collected_at)`.execute(db);
  await sql`
    CREATE TABLE old_mount_samples (
      host_id bigint NOT NULL REFERENCES hosts (id) ON DELETE CASCADE, mountpoint text NOT NULL, collected_at timestamptz NOT NULL,
      size_bytes bigint NOT NULL, used_bytes bigint NOT NULL, available_bytes bigint NOT NULL, inodes_total bigint NOT NULL, inodes_used bigint NOT NULL,
      PRIMARY KEY (host_id, mountpoint, collected_at))`.execute(db);
  await sql`CREATE INDEX old_mount_samples_host_time ON old_mount_samples (host_id, collected_at)`.execute(db);
  await sql`INSERT INTO old_report_samples SELECT s.host_id, b.boot_id, s.seq, s.collected_at, s.cpu_percent, s.cpu_user_percent, s.cpu_system_percent,
              s.cpu_iowait_percent, s.cpu_steal_percent, s.load1, s.load5, s.load15, s.memory_used_bytes, s.memory_available_bytes, s.swap_used_bytes,
              s.disk_read_bytes_per_second, s.disk_write_bytes_per_second, s.network_rx_bytes_per_second, s.network_tx_bytes_per_second
            FROM report_samples s JOIN host_boots b ON b.id = s.boot ORDER BY s.collected_at`.execute(db);
  await sql`INSERT INTO old_mount_samples SELECT * FROM mount_samples ORDER BY collected_at`.execute(db);
  const before = await bytes(["old_report_samples", "old_mount_samples"]);
  const rawOnly = await bytes(["report_samples", "mount_samples", "host_boots"]);

  // 2. A year of one host.
  const { rows: hostRows } = await sql<{ id: number }>`INSERT INTO hosts (agent_id, hostname, received_at) VALUES ('year', 'year01', now()) RETURNING id`.execute(db);
  const host = hostRows[0]!.id;
  const { rows: bootRows } = await sql<{ id: number }>`INSERT INTO host_boots (host_id, boot_id) VALUES (${host}, 'year') RETURNING id`.execute(db);
  const at = now.getTime() / 1000;
  const generate = Date.now();
  await sql`
    INSERT INTO report_samples (host_id, boot, seq, collected_at, cpu_percent, load1, load5, load15, memory_used_bytes, memory_available_bytes, swap_used_bytes)
    SELECT ${host}, ${bootRows[0]!.id}, i, to_timestamp(${at}::float8 - 10 * i), i % 100, 0, 0, 0, 0, 0, 0
    FROM generate_series(1, ${(DEFAULT_RETENTION.raw / 10) | 0}::int) AS i`.execute(db);
  // Rollup tiers as housekeeping leaves them: partitions first, then one row a minute (90 d) and an hour (a year).
  await preparePartitions(db, { ...DEFAULT_RETENTION, raw: 365 * DAY }, now);
  for (const [table, seconds, keep] of [["report_samples_1m", 60, DEFAULT_RETENTION.minute], ["report_samples_1h", 3600, 365 * DAY]] as const) {
    await sql`
      INSERT INTO ${sql.table(table)} (host_id, bucket, samples, cpu_percent, cpu_percent_min, cpu_percent_max)
      SELECT ${host}, to_timestamp(${Math.floor(at / seconds) * seconds}::float8 - ${seconds}::int * i), ${seconds / 10}::int, i % 100, 0, 100
      FROM generate_series(1, ${keep / seconds}::int) AS i
      ON CONFLICT DO NOTHING`.execute(db);
  }
  await sql`ANALYZE`.execute(db);
  const generateSeconds = (Date.now() - generate) / 1000;

  const time = async (run: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = performance.now();
      await run();
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    return { medianMs: +ms[Math.floor(ms.length / 2)]!.toFixed(1), p95Ms: +ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))]!.toFixed(1) };
  };
  const q = parseSeriesQuery({ metric: "cpu_busy_ratio", from: String(at - 30 * DAY), to: String(at) }, now);
  const chart = await querySeries(db, host, q);
  const tiered = await time(() => querySeries(db, host, q));
  const reference = await time(() =>
    sql`SELECT date_bin('1 hour', collected_at, ${new Date((at - 30 * DAY) * 1000)}::timestamptz) AS t, avg(cpu_percent / 100.0)
        FROM report_samples WHERE host_id = ${host} AND collected_at >= ${new Date((at - 30 * DAY) * 1000)} GROUP BY 1 ORDER BY 1`.execute(db),
  );

  const result = {
    reports: REPORTS,
    agents: AGENTS,
    bytesPerReport: {
      now: { allSeriesTablesWithRollups: Math.round(after / REPORTS), rawSamplesOnly: Math.round(rawOnly / REPORTS) },
      reference: { what: "the same rows in the schema before partitioning (report_samples + mount_samples)", bytes: Math.round(before / REPORTS) },
    },
    chart30Days: {
      resolution: chart.resolution,
      points: chart.series[0]?.points.length ?? 0,
      ...tiered,
      reference: { what: "the same chart bucketed from the 14 days of raw 10 s samples", ...(await reference) },
      generatedSeconds: +generateSeconds.toFixed(1),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await db.destroy();
  await database.drop();
}
