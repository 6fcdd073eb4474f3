// GET /api/v1/hosts/sparklines: every host's last hour of CPU and memory in one request, from
// the minute rollups the housekeeping makes of stored reports (real PostgreSQL).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { hostSparklines } from "../../collector/src/hosts/sparklines.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import type { SparklinesResponse } from "../../collector/src/http/api-types.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { housekeep } from "../../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../../collector/src/series/retention.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const GiB = 1024 ** 3;

describe("host sparklines", () => {
  let database: TestDatabase;
  let db: Db;
  const now = new Date();
  const minute = Math.floor(now.getTime() / 60_000) * 60;
  let web: number;
  let quiet: number;

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    await housekeep(db, DEFAULT_RETENTION, now);
    // web01: one report 30, 29 and 28 minutes ago (two in the last of those minutes), then nothing until 5 minutes ago.
    const at = [[30, 10, 1], [29, 20, 2], [28, 30, 3], [28, 50, 5], [5, 80, 6]].map(([ago, cpu, used], seq) => sampleReport({
      agentId: "agent-web", hostname: "web01", seq: seq + 1, collectedAt: new Date((minute - ago! * 60 + 5) * 1000),
      cpu: { logicalCores: 2, usagePercent: cpu, userPercent: cpu, systemPercent: 0, iowaitPercent: 0, stealPercent: 0, load1: 0, load5: 0, load15: 0 },
      memory: { totalBytes: 8 * GiB, usedBytes: used! * GiB, availableBytes: (8 - used!) * GiB, swapTotalBytes: 0, swapUsedBytes: 0 },
    }));
    const stored = await storeBatch(db, at.map((report) => ({ report, receivedAt: now })));
    web = stored.latest[0]!.hostId;
    // quiet01: reported two hours ago only, outside the hour.
    const old = await storeBatch(db, [{ report: sampleReport({ agentId: "agent-quiet", hostname: "quiet01", collectedAt: new Date((minute - 7200) * 1000) }), receivedAt: now }]);
    quiet = old.latest[0]!.hostId;
    await housekeep(db, DEFAULT_RETENTION, new Date(now.getTime() + 60_000));
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  test("a point a minute for the last hour: each minute's mean, null where the host sent nothing", async () => {
    const sparklines = await hostSparklines(db, now);
    assert.equal(sparklines.to, minute);
    assert.equal(sparklines.from, minute - 3600);
    assert.equal(sparklines.step, 60);
    const line = sparklines.hosts[web]!;
    assert.equal(line.cpu.length, 60);
    const index = (ago: number) => 60 - ago;
    assert.deepEqual([index(30), index(29), index(28), index(5)].map((i) => line.cpu[i]), [10, 20, 40, 80]);
    assert.deepEqual([index(30), index(29), index(28), index(5)].map((i) => line.memory[i]), [12.5, 25, 50, 75]);
    assert.equal(line.cpu.filter((v) => v !== null).length, 4, "nothing where no report was");
    assert.equal(sparklines.hosts[quiet], undefined, "a host with nothing in the hour has no line");
  });

  test("served to a viewer token in one request", async () => {
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    const app = await buildApp({ config, db, registry: new Registry(), natsConnected: () => true, token: "spark-token" }, pino({ level: "silent" }));
    try {
      const response = await app.inject({ url: "/api/v1/hosts/sparklines", headers: { authorization: "Bearer spark-token" } });
      assert.equal(response.statusCode, 200);
      const body = response.json() as SparklinesResponse;
      assert.equal(body.hosts[web]!.cpu.length, 60);
      assert.equal((await app.inject({ url: "/api/v1/hosts/sparklines" })).statusCode, 401);
    } finally {
      await app.close();
    }
  });
});
