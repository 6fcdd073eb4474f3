// Partitions, rollups and retention of the time series (collector/src/series/), against
// a real PostgreSQL: the housekeeper runs at chosen times, as it would on those days.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { migrations } from "../../collector/src/db/migrations/index.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { housekeep, preparePartitions } from "../../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION, type Retention } from "../../collector/src/series/retention.ts";
import { createMigratedDatabase, createTestDatabase, type MigratedDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;

async function partitions(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ${table}::regclass ORDER BY 1`.execute(db);
  return rows.map((r) => r.name);
}

/** A fresh database with partitions around `now`, and the HTTP app over it (token "t"). */
function seriesFixture(now: number) {
  let database: MigratedDatabase | undefined;
  let app: FastifyInstance | undefined;
  return {
    async open(): Promise<{ db: Db; app: FastifyInstance }> {
      database = await createMigratedDatabase();
      const { db } = database;
      await preparePartitions(db, DEFAULT_RETENTION, new Date(now));
      const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
      app = await buildApp({ config, db, registry: new Registry(), natsConnected: () => true, token: "t" }, pino({ level: "silent" }));
      return { db, app };
    },
    async close(): Promise<void> {
      await app?.close();
      await database?.drop();
    },
  };
}

describe("series housekeeping", () => {
  let database: MigratedDatabase;
  let db: Db;

  before(async () => {
    database = await createMigratedDatabase();
    ({ db } = database);
  });
  after(() => database?.drop());

  test("partitions appear ahead of the data and those past retention are dropped whole", async () => {
    const retention: Retention = { raw: 2 * 86_400, minute: 14 * 86_400, hour: 60 * 86_400 };
    const now = Date.now();
    const first = await housekeep(db, retention, new Date(now));
    assert.equal(first.ran, true);
    const raw = await partitions(db, "report_samples");
    for (let d = 0; d < 3; d++) assert.ok(raw.includes(`report_samples_p${day(now + d * DAY)}`), `the partition of ${day(now + d * DAY)} exists ahead`);
    assert.ok((await partitions(db, "mount_samples_1m")).length > 0 && (await partitions(db, "proxmox_storage_samples_1h")).length > 0);

    // Ten days later: new days ahead, and the raw days past 2 d (and the slack day) gone, as tables.
    const later = now + 10 * DAY;
    const run = await housekeep(db, retention, new Date(later));
    const after = await partitions(db, "report_samples");
    assert.ok(after.includes(`report_samples_p${day(later + 2 * DAY)}`));
    assert.ok(!after.includes(`report_samples_p${day(now)}`), "today's raw partition is dropped ten days on");
    assert.ok(run.dropped.includes(`report_samples_p${day(now)}`));
    assert.ok(after.every((name) => name >= `report_samples_p${day(later - 4 * DAY)}`), `no raw partition older than the retention: ${after.join(", ")}`);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class WHERE relname = ${`report_samples_p${day(now)}`}`.execute(db);
    assert.equal(rows[0]!.n, 0, "the partition's table is dropped, not emptied");
    // The minute tier keeps 14 days: its week of today is still there.
    assert.ok((await partitions(db, "report_samples_1m")).length >= 2);
  });
});

describe("series rollups and tiers", () => {
  const now = Date.now();
  const fixture = seriesFixture(now);
  let db: Db;
  let app: FastifyInstance;
  before(async () => ({ db, app } = await fixture.open()));
  after(() => fixture.close());

  const report = (seq: number, at: number, cpu: number, used: number) =>
    sampleReport({
      agentId: "agent-r", hostname: "roll01", seq, collectedAt: new Date(at),
      cpu: { logicalCores: 2, usagePercent: cpu, userPercent: cpu / 2, systemPercent: 1, iowaitPercent: 0, stealPercent: 0, load1: cpu / 10, load5: 1, load15: 1 },
      mounts: [{ mountpoint: "/", device: "/dev/vda1", fsType: "ext4", sizeBytes: 1000, usedBytes: used, availableBytes: 1000 - used, inodesTotal: 10, inodesUsed: 1 }],
    });

  /** Rollup rows of roll01's cpu and / use against the mean, min and max of its raw samples, per bucket the rollups are done for. */
  async function assertRollupsMatchRaw(width: "1m" | "1h", seconds: number): Promise<number> {
    const { rows: state } = await sql<{ done: Date }>`SELECT ${sql.raw(width === "1m" ? "minute_done" : "hour_done")} AS done FROM series_rollup_state`.execute(db);
    const done = state[0]!.done.getTime();
    const { rows: raw } = await sql<{ at: Date; cpu: number; used: number }>`
      SELECT s.collected_at AS at, s.cpu_percent AS cpu, m.used_bytes::float8 AS used FROM report_samples s
      JOIN mount_samples m ON m.host_id = s.host_id AND m.collected_at = s.collected_at JOIN hosts h ON h.id = s.host_id
      WHERE h.agent_id = 'agent-r'`.execute(db);
    const expected = new Map<number, { cpu: number[]; used: number[] }>();
    for (const r of raw) {
      const bucket = Math.floor(r.at.getTime() / (seconds * 1000)) * seconds * 1000;
      if (bucket + seconds * 1000 > done) continue;
      const b = expected.get(bucket) ?? { cpu: [], used: [] };
      b.cpu.push(r.cpu);
      b.used.push(r.used);
      expected.set(bucket, b);
    }
    const { rows } = await sql<{ bucket: Date; samples: number; cpu_percent: number; cpu_percent_min: number; cpu_percent_max: number; used: number; used_min: number; used_max: number }>`
      SELECT r.bucket, r.samples, r.cpu_percent, r.cpu_percent_min, r.cpu_percent_max, m.used_bytes AS used, m.used_bytes_min AS used_min, m.used_bytes_max AS used_max
      FROM ${sql.table(`report_samples_${width}`)} r JOIN ${sql.table(`mount_samples_${width}`)} m ON m.host_id = r.host_id AND m.bucket = r.bucket AND m.mountpoint = '/'
      JOIN hosts h ON h.id = r.host_id WHERE h.agent_id = 'agent-r' AND r.bucket + ${sql.lit(`${seconds} seconds`)}::interval <= ${new Date(done)} ORDER BY r.bucket`.execute(db);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.deepEqual(rows.map((r) => r.bucket.getTime()), [...expected.keys()].sort((a, b) => a - b), `a ${width} row for every bucket holding samples`);
    for (const r of rows) {
      const e = expected.get(r.bucket.getTime())!;
      assert.equal(r.samples, e.cpu.length);
      assert.ok(Math.abs(r.cpu_percent - mean(e.cpu)) < 1e-9 && Math.abs(r.used - mean(e.used)) < 1e-6, `${width} means at ${r.bucket.toISOString()}`);
      assert.deepEqual([r.cpu_percent_min, r.cpu_percent_max, r.used_min, r.used_max], [Math.min(...e.cpu), Math.max(...e.cpu), Math.min(...e.used), Math.max(...e.used)]);
    }
    return rows.length;
  }

  test("minute and hour rollups equal the mean, min and max of the raw samples, also after a replay and a late report", async () => {
    // Two hours ago to eighty minutes ago: at least one whole hour is done, whatever the time now.
    const start = minuteOf(now) - 120 * 60_000;
    const reports = Array.from({ length: 120 }, (_, i) => report(i + 1, start + i * 20_000 + 5_000, (i * 37) % 100, 100 + ((i * 53) % 400)));
    await storeBatch(db, reports.slice(0, 100).map((r) => ({ report: r, receivedAt: new Date() })));
    await housekeep(db, DEFAULT_RETENTION, new Date(now));
    const minutes = await assertRollupsMatchRaw("1m", 60);
    assert.ok(minutes >= 30);
    assert.ok((await assertRollupsMatchRaw("1h", 3600)) >= 1);

    // The same reports again (a spool replay), and the rest, into minutes already rolled up: nothing counts twice.
    const replay = await storeBatch(db, reports.map((r) => ({ report: r, receivedAt: new Date() })));
    assert.equal(replay.duplicates, 100);
    await housekeep(db, DEFAULT_RETENTION, new Date(now));
    await housekeep(db, DEFAULT_RETENTION, new Date(now));
    assert.equal(await assertRollupsMatchRaw("1m", 60), 40);
    assert.ok((await assertRollupsMatchRaw("1h", 3600)) >= 1);
    const { rows } = await sql<{ n: number }>`SELECT sum(samples)::int AS n FROM report_samples_1m`.execute(db);
    assert.equal(rows[0]!.n, 120);
  });
});

describe("series across tiers", () => {
  const now = Date.now();
  const fixture = seriesFixture(now);
  let db: Db;
  let app: FastifyInstance;
  before(async () => ({ db, app } = await fixture.open()));
  after(() => fixture.close());

  test("a chart across the raw/minute boundary has one point per minute: no gap, no double", async () => {
    // Three and a half days of one sample a minute at :30, on another host; raw kept for a day.
    const retention: Retention = { raw: 86_400, minute: 90 * 86_400, hour: 730 * 86_400 };
    const first = minuteOf(now) - 84 * 3_600_000;
    const { rows: hosts } = await sql<{ id: number }>`INSERT INTO hosts (agent_id, hostname, received_at) VALUES ('agent-chart', 'chart01', now()) RETURNING id`.execute(db);
    const host = hosts[0]!.id;
    const { rows: boots } = await sql<{ id: number }>`INSERT INTO host_boots (host_id, boot_id) VALUES (${host}, 'b') RETURNING id`.execute(db);
    const count = Math.floor((now - 1_000 - first) / 60_000);
    const cpu = (i: number) => (i * 7) % 100;
    await sql`
      INSERT INTO report_samples (host_id, boot, seq, collected_at, cpu_percent, load1, load5, load15, memory_used_bytes, memory_available_bytes, swap_used_bytes)
      SELECT ${host}, ${boots[0]!.id}, i, to_timestamp(${first / 1000}::float8 + 60 * i + 30), (i * 7) % 100, 0, 0, 0, 0, 0, 0
      FROM generate_series(0, ${count}::int) AS i WHERE ${first / 1000}::float8 + 60 * i + 30 < ${now / 1000}::float8`.execute(db);
    // Rolled up until a few minutes ago; the last minutes are raw only. Raw days past retention are dropped.
    const run = await housekeep(db, retention, new Date(now - 3 * 60_000));
    assert.ok(run.dropped.some((name) => name.startsWith("report_samples_p")), "the oldest raw days are dropped");
    const { rows: state } = await sql<{ done: Date }>`SELECT minute_done AS done FROM series_rollup_state`.execute(db);
    assert.ok(state[0]!.done.getTime() <= now - 3 * 60_000 && state[0]!.done.getTime() > first + 2 * 86_400_000, "the minute rollups end inside the range");

    const from = first + 60 * 60_000;
    const response = await app.inject({ url: `/api/v1/hosts/${host}/series?metric=cpu_busy_ratio&from=${from / 1000}&to=${Math.floor(now / 1000)}`, headers: { authorization: "Bearer t" } });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.resolution, "minute");
    assert.equal(body.step, 60);
    const points: Array<[number, number]> = body.series[0].points;
    const expected = [];
    for (let i = 60; first + 60_000 * i + 30_000 < now; i++) expected.push([(first + 60_000 * i) / 1000, Math.round(cpu(i)) / 100]);
    assert.equal(points.length, expected.length, "one point per minute from the first to the last");
    assert.deepEqual(points.map(([t, v]) => [t, Math.round(v * 1e9) / 1e9]), expected);
  });
});

describe("migration 015 on a database with history", () => {
  test("the unpartitioned samples move into day partitions, every row kept, boots as ids, and the rollups start from the oldest", async () => {
    const database = await createTestDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }) });
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableName: "netmap_migrations", migrationLockTableName: "netmap_migrations_lock" });
      assert.equal((await migrator.migrateTo("2026_11_23_006_series")).error, undefined);
      await sql`INSERT INTO hosts (agent_id, hostname) VALUES ('a', 'a')`.execute(db);
      await sql`
        INSERT INTO report_samples (host_id, boot_id, seq, collected_at, load1, load5, load15, memory_used_bytes, memory_available_bytes, swap_used_bytes, cpu_percent)
        SELECT 1, CASE WHEN i <= 500 THEN 'boot-1' ELSE 'boot-2' END, i, '2026-10-01Z'::timestamptz + i * interval '1 hour', 0, 0, 0, 0, 0, 0, i
        FROM generate_series(1, 1000) AS i`.execute(db);
      await sql`INSERT INTO mount_samples SELECT 1, '/', '2026-10-01Z'::timestamptz + i * interval '1 hour', 10, i, 10 - i, 1, 1 FROM generate_series(1, 1000) AS i`.execute(db);
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      const { rows } = await sql<{ n: number; cpu: number; used: number; boots: string[]; days: number; first: Date }>`
        SELECT (SELECT count(*)::int FROM report_samples s JOIN host_boots b ON b.id = s.boot) AS n, (SELECT sum(cpu_percent) FROM report_samples) AS cpu,
               (SELECT sum(used_bytes)::float8 FROM mount_samples) AS used, (SELECT array_agg(boot_id ORDER BY boot_id) FROM host_boots) AS boots,
               (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'report_samples'::regclass) AS days, (SELECT minute_done FROM series_rollup_state) AS first`.execute(db);
      assert.deepEqual(rows[0], { n: 1000, cpu: 500_500, used: 500_500, boots: ["boot-1", "boot-2"], days: 42, first: new Date("2026-10-01T01:00:00Z") });
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
});
