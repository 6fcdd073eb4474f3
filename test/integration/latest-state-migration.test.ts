// Migration 080 on a database with hosts: each host's latest report, stored as JSON before,
// is served the same from its protobuf copy after; the dropped detail tables lose nothing the
// API showed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { migrations } from "../../collector/src/db/migrations/index.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { getHost } from "../../collector/src/hosts/repository.ts";
import { HostReport, OsInfo } from "../../proto/gen/netmap/v1/report.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

test("migration 080 keeps every host's latest report, now as protobuf, and its OS for the list", async () => {
  const database = await createTestDatabase();
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }) });
  try {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableName: "netmap_migrations", migrationLockTableName: "netmap_migrations_lock" });
    assert.equal((await migrator.migrateTo("2026_12_01_021_snmp")).error, undefined);
    // More hosts than the migration converts at once; one without a report (a host a person placed).
    const reports = Array.from({ length: 2_345 }, (_, i) => sampleReport({ agentId: `agent-${i}`, hostname: `web${i}`, seq: i + 1 }));
    await sql`
      INSERT INTO hosts (agent_id, hostname, received_at, state)
      SELECT a, a, now(), s FROM unnest(${reports.map((r) => r.agentId)}::text[], ${reports.map((r) => JSON.stringify(HostReport.toJSON(r)))}::jsonb[]) AS t(a, s)`.execute(db);
    await sql`INSERT INTO hosts (hostname, name) VALUES ('placed', 'placed')`.execute(db);
    assert.equal((await migrator.migrateToLatest()).error, undefined);

    const { rows } = await sql<{ id: number; agent_id: string | null; os: unknown }>`SELECT id, agent_id, os FROM hosts ORDER BY id`.execute(db);
    assert.equal(rows.length, reports.length + 1);
    const thresholds = { staleAfterSeconds: 60, downAfterSeconds: 300 };
    for (const i of [0, 999, 1000, 2_344]) {
      const host = (await getHost(db as Db, Number(rows[i]!.id), thresholds))!;
      assert.equal(host.agentId, `agent-${i}`);
      assert.deepEqual(host.mounts.map((m) => m.mountpoint), ["/", "/boot"]);
      assert.deepEqual(host.listeners.map((l) => `${l.protocol}/${l.address}:${l.port}`), ["tcp/0.0.0.0:22", "udp/127.0.0.1:323"]);
      assert.equal(host.memory?.totalBytes, 8 * 1024 ** 3);
      assert.equal(host.os?.kernel, "6.1.0-18-amd64");
      assert.deepEqual(rows[i]!.os, OsInfo.toJSON(reports[i]!.os!));
    }
    const placed = (await getHost(db as Db, Number(rows.at(-1)!.id), thresholds))!;
    assert.deepEqual([placed.os, placed.mounts], [null, []]);
    const { rows: tables } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class WHERE relname IN ('host_mounts', 'host_listeners')`.execute(db);
    assert.equal(tables[0]!.n, 0);
  } finally {
    await db.destroy();
    await database.drop();
  }
});
