import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { METRIC_NAMES } from "../../collector/src/hosts/series.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { Secret, type ProxmoxClusterConfig } from "../../collector/src/proxmox/config.ts";
import type { Figures } from "../../collector/src/proxmox/parse.ts";
import { storeInventory } from "../../collector/src/proxmox/store.ts";
import { preparePartitions } from "../../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../../collector/src/series/retention.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { CheckType } from "../../proto/gen/netmap/v1/report.ts";

const GiB = 1024 ** 3;
const T0 = Date.parse("2025-06-01T10:00:00Z") / 1000;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
/** Values to 9 decimals: bucket means and ratios are floating point. */
const rounded = (points: Array<[number, number]>) => points.map(([t, v]) => [t, Math.round(v * 1e9) / 1e9]);

const cluster: ProxmoxClusterConfig = {
  name: "lab", url: "https://pve.invalid:8006", tokenId: "monitor@pve!netmap", tokenSecret: new Secret("x"), fingerprint: null,
  intervalSeconds: 60, timeoutSeconds: 1, concurrency: 1, client: "acme", site: "paris-dc1",
};
const figures = (f: Partial<Figures>): Figures => ({
  cpu: null, maxcpu: null, mem: null, maxmem: null, disk: null, maxdisk: null, netin: null, netout: null, diskread: null, diskwrite: null, uptime: null, ...f,
});

describe("GET /api/v1/hosts/:id/series", () => {
  let database: TestDatabase;
  let db: Db;
  let app: FastifyInstance;
  let agentHost: number;
  let bulkHost: number;
  let guestHost: number;
  let nodeHost: number;

  const get = async (path: string) => {
    const response = await app.inject({ url: path, headers: { authorization: "Bearer series-token" } });
    return { status: response.statusCode, body: response.json() };
  };
  const series = (host: number, query: string) => get(`/api/v1/hosts/${host}/series?${query}`);

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    // Partitions for samples dated around T0, a year and more ago, as the housekeeping makes them for today.
    await preparePartitions(db, DEFAULT_RETENTION, new Date(T0 * 1000));
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    app = await buildApp({ config, db, registry: new Registry(), natsConnected: () => true, token: "series-token" }, pino({ level: "silent" }));

    // web01: seven reports 10 s apart through the ingest store, handed over out of order.
    const reports = [3, 0, 6, 1, 5, 2, 4].map((i) =>
      sampleReport({
        agentId: "agent-a", hostname: "web01", seq: i + 1, collectedAt: new Date((T0 + 10 * i) * 1000),
        cpu: { logicalCores: 4, usagePercent: 10 * (i + 1), userPercent: 5 * (i + 1), systemPercent: 2, iowaitPercent: 1, stealPercent: 0, load1: i, load5: 1, load15: 1 },
        memory: { totalBytes: 8 * GiB, usedBytes: (i + 1) * GiB, availableBytes: (7 - i) * GiB, swapTotalBytes: GiB, swapUsedBytes: 0 },
        mounts: [
          { mountpoint: "/", device: "/dev/vda1", fsType: "ext4", sizeBytes: 100 * GiB, usedBytes: (60 + i) * GiB, availableBytes: (35 - i) * GiB, inodesTotal: 1000, inodesUsed: 10 * i },
          { mountpoint: "/boot", device: "/dev/vda2", fsType: "ext4", sizeBytes: GiB, usedBytes: 200 * 1024 ** 2, availableBytes: 750 * 1024 ** 2, inodesTotal: 100, inodesUsed: 4 },
        ],
        // shop fails in the fourth report (no latency then); db always answers in 5 ms.
        checks: [
          { name: "shop", type: CheckType.CHECK_TYPE_HTTP, target: "https://shop.example/", success: i !== 3, error: i === 3 ? "HTTP 503" : "", latencySeconds: i === 3 ? undefined : 0.1 * (i + 1), httpStatus: i === 3 ? 503 : 200, certificateDaysLeft: undefined, checkedAt: new Date((T0 + 10 * i) * 1000) },
          { name: "db", type: CheckType.CHECK_TYPE_TCP, target: "10.0.0.5:5432", success: true, error: "", latencySeconds: 0.005, httpStatus: undefined, certificateDaysLeft: undefined, checkedAt: new Date((T0 + 10 * i) * 1000) },
        ],
      }),
    );
    // …and one 30 minutes ago, for the default range (the last hour).
    reports.push(sampleReport({ agentId: "agent-a", hostname: "web01", seq: 100, collectedAt: new Date(Date.now() - 30 * 60_000) }));
    const stored = await storeBatch(db, reports.map((report) => ({ report, receivedAt: new Date() })));
    assert.equal(stored.stored, 8);
    agentHost = stored.latest[0]!.hostId;

    // bulk01: 12,000 samples one second apart, more than one series may hold unbucketed.
    const bulk = await storeBatch(db, [{ report: sampleReport({ agentId: "agent-bulk", hostname: "bulk01", collectedAt: new Date((T0 - 86_400) * 1000) }), receivedAt: new Date() }]);
    bulkHost = bulk.latest[0]!.hostId;
    const { rows: boots } = await sql<{ id: number }>`INSERT INTO host_boots (host_id, boot_id) VALUES (${bulkHost}, 'bulk') RETURNING id`.execute(db);
    await sql`
      INSERT INTO report_samples (host_id, boot, seq, collected_at, cpu_percent, load1, load5, load15, memory_used_bytes, memory_available_bytes, swap_used_bytes)
      SELECT ${bulkHost}, ${boots[0]!.id}, i, to_timestamp(${T0} + i), i % 2 * 100, 0, 0, 0, 0, 0, 0 FROM generate_series(0, 11999) AS i`.execute(db);

    // A Proxmox node and an agentless VM on it, three discovery cycles a minute apart.
    for (const [k, cpu] of [0.25, 0.5, 0.75].entries()) {
      await storeInventory(db, cluster, {
        cluster: "lab", at: new Date((T0 + 60 * k) * 1000), listed: true, complete: true, templates: [], backups: null, health: null, failures: [], calls: 0, durationMs: 0,
        nodes: [{
          node: "pve1", status: "online", staleReason: null, network: null, figures: figures({ cpu: 0.1, mem: 10 * GiB, maxmem: 64 * GiB }),
          storage: [
            { storage: "local", type: "dir", total: 100 * GiB, used: (10 + k) * GiB, avail: (90 - k) * GiB, active: true, shared: false },
            { storage: "ceph", type: "rbd", total: 1000 * GiB, used: 500 * GiB, avail: 500 * GiB, active: true, shared: true },
          ],
        }],
        guests: [{
          type: "qemu", vmid: 101, name: "db01", node: "pve1", status: "running", tags: [], interfaces: [], agent: "not-configured", staleReason: null,
          figures: figures({ cpu, maxcpu: 2, mem: (k + 1) * GiB, maxmem: 4 * GiB, netin: 6000 * k, netout: 0, uptime: 100 + 60 * k }),
        }],
      } as Parameters<typeof storeInventory>[2]);
    }
    const { rows } = await sql<{ host_id: number; type: string }>`SELECT host_id, type FROM proxmox_resources`.execute(db);
    guestHost = rows.find((r) => r.type === "qemu")!.host_id;
    nodeHost = rows.find((r) => r.type === "node")!.host_id;
  });

  after(async () => {
    await app?.close();
    await db?.destroy();
    await database?.drop();
  });

  test("a range gives the samples in [from, to], both ends included, in time order, timestamps in Unix seconds", async () => {
    const { status, body } = await series(agentHost, `metric=cpu_busy_ratio&from=${iso(T0 + 10)}&to=${T0 + 40}`);
    assert.equal(status, 200);
    assert.deepEqual(body.host, { id: agentHost, hostname: "web01" });
    assert.equal(body.metric, "cpu_busy_ratio");
    assert.equal(body.unit, "ratio");
    assert.equal(body.source, "agent");
    assert.equal(body.from, T0 + 10);
    assert.equal(body.to, T0 + 40);
    assert.equal(body.step, null);
    assert.equal(body.series.length, 1);
    assert.deepEqual(body.series[0].labels, {});
    assert.deepEqual(rounded(body.series[0].points), [[T0 + 10, 0.2], [T0 + 20, 0.3], [T0 + 30, 0.4], [T0 + 40, 0.5]]);

    // A millisecond inside either end leaves that end's sample out.
    const inner = await series(agentHost, `metric=memory_used_bytes&from=${T0 + 10.001}&to=${iso(T0 + 39.999)}`);
    assert.deepEqual(inner.body.series[0].points, [[T0 + 20, 3 * GiB], [T0 + 30, 4 * GiB]]);
    assert.equal(inner.body.unit, "bytes");
  });

  test("without from and to: the last hour up to now", async () => {
    const before = Date.now() / 1000;
    const { body } = await series(agentHost, "metric=load1");
    assert.ok(body.to >= before && body.to <= Date.now() / 1000 + 1);
    assert.equal(body.from, body.to - 3600);
    assert.equal(body.series[0].points.length, 1, "only the report of 30 minutes ago");
    // from alone: to is now.
    const fromOnly = await series(agentHost, `metric=load1&from=${iso(T0)}`);
    assert.equal(fromOnly.body.series[0].points.length, 8);
  });

  test("step averages the samples into buckets [from + k·step, from + (k+1)·step) dated by their start", async () => {
    const { status, body } = await series(agentHost, `metric=cpu_busy_ratio&from=${T0}&to=${T0 + 60}&step=30s`);
    assert.equal(status, 200);
    assert.equal(body.step, 30);
    assert.deepEqual(rounded(body.series[0].points), [[T0, 0.2], [T0 + 30, 0.5], [T0 + 60, 0.7]]);
    // A bucket origin that is not a multiple of the step: buckets start at from.
    const shifted = await series(agentHost, `metric=load1&from=${T0 + 5}&to=${T0 + 65}&step=20`);
    assert.deepEqual(shifted.body.series[0].points, [[T0 + 5, 1.5], [T0 + 25, 3.5], [T0 + 45, 5.5]]);
  });

  test("more than 11,000 samples in a series and no step: bucketed with the smallest step that fits", async () => {
    const raw = await series(bulkHost, `metric=cpu_busy_ratio&from=${T0}&to=${T0 + 10_998}`);
    assert.equal(raw.body.step, null);
    assert.equal(raw.body.series[0].points.length, 10_999);
    const { body } = await series(bulkHost, `metric=cpu_busy_ratio&from=${T0}&to=${T0 + 11_999}`);
    assert.equal(body.step, 2);
    assert.equal(body.series[0].points.length, 6000);
    assert.deepEqual(body.series[0].points.slice(0, 2), [[T0, 0.5], [T0 + 2, 0.5]]);
  });

  test("file systems: one series per mount point labelled with it, or the one mountpoint= names", async () => {
    const { body } = await series(agentHost, `metric=filesystem_used_bytes&from=${T0}&to=${T0 + 20}`);
    assert.deepEqual(body.series.map((s: any) => s.labels), [{ mountpoint: "/" }, { mountpoint: "/boot" }]);
    assert.deepEqual(body.series[0].points, [[T0, 60 * GiB], [T0 + 10, 61 * GiB], [T0 + 20, 62 * GiB]]);
    assert.deepEqual(body.series[1].points.map(([, v]: number[]) => v), [200 * 1024 ** 2, 200 * 1024 ** 2, 200 * 1024 ** 2]);

    const boot = await series(agentHost, `metric=filesystem_size_bytes&mountpoint=%2Fboot&from=${T0}&to=${T0 + 60}&step=1m`);
    assert.deepEqual(boot.body.series, [{ labels: { mountpoint: "/boot" }, points: [[T0, GiB], [T0 + 60, GiB]] }]);
    const none = await series(agentHost, `metric=filesystem_size_bytes&mountpoint=%2Fsrv&from=${T0}&to=${T0 + 60}`);
    assert.deepEqual(none.body.series, []);
  });

  test("synthetic checks: up and latency, one series per check, or the one check= names", async () => {
    const latency = await series(agentHost, `metric=check_latency_seconds&from=${T0}&to=${T0 + 60}&check=shop`);
    assert.equal(latency.status, 200);
    assert.equal(latency.body.unit, "seconds");
    assert.deepEqual(latency.body.series.map((s: { labels: object }) => s.labels), [{ check: "shop" }]);
    assert.deepEqual(rounded(latency.body.series[0].points), [0, 1, 2, 4, 5, 6].map((i) => [T0 + 10 * i, Math.round(0.1 * (i + 1) * 1e9) / 1e9]), "no point where the check failed");

    const up = await series(agentHost, `metric=check_up_ratio&from=${T0}&to=${T0 + 60}&step=70s`);
    assert.deepEqual(up.body.series.map((s: { labels: object; points: Array<[number, number]> }) => [s.labels, rounded(s.points)]), [
      [{ check: "db" }, [[T0, 1]]],
      [{ check: "shop" }, [[T0, Math.round((6 / 7) * 1e9) / 1e9]]],
    ]);
  });

  test("CPU modes: one series per mode", async () => {
    const { body } = await series(agentHost, `metric=cpu_mode_ratio&from=${T0}&to=${T0 + 10}`);
    assert.deepEqual(body.series.map((s: any) => s.labels.mode), ["iowait", "steal", "system", "user"]);
    assert.deepEqual(rounded(body.series[3].points), [[T0, 0.05], [T0 + 10, 0.1]]);
    const user = await series(agentHost, `metric=cpu_mode_ratio&mode=user&from=${T0}&to=${T0 + 10}`);
    assert.deepEqual(user.body.series.map((s: any) => s.labels), [{ mode: "user" }]);
  });

  test("an agentless Proxmox guest serves CPU, memory and rates from Proxmox under the same names", async () => {
    const range = `from=${T0}&to=${T0 + 120}`;
    const cpu = await series(guestHost, `metric=cpu_busy_ratio&${range}`);
    assert.equal(cpu.status, 200);
    assert.equal(cpu.body.source, "proxmox");
    assert.equal(cpu.body.host.hostname, "db01");
    assert.deepEqual(cpu.body.series[0].points, [[T0, 0.25], [T0 + 60, 0.5], [T0 + 120, 0.75]]);
    const memory = await series(guestHost, `metric=memory_used_bytes&${range}`);
    assert.deepEqual(memory.body.series[0].points, [[T0, GiB], [T0 + 60, 2 * GiB], [T0 + 120, 3 * GiB]]);
    // The first cycle has no rate (no previous counter): no point.
    const rx = await series(guestHost, `metric=network_receive_bytes_per_second&${range}`);
    assert.deepEqual(rx.body.series[0].points, [[T0 + 60, 100], [T0 + 120, 100]]);
    // What Proxmox does not give: an empty answer, as Prometheus gives for no data.
    const load = await series(guestHost, `metric=load1&${range}`);
    assert.deepEqual([load.status, load.body.source, load.body.series], [200, "agent", []]);
    // The agent host asked for Proxmox's figures: it has none.
    const forced = await series(agentHost, `metric=cpu_busy_ratio&source=proxmox&${range}`);
    assert.deepEqual([forced.body.source, forced.body.series], ["proxmox", []]);
  });

  test("a Proxmox node's storage: one series per storage", async () => {
    const { body } = await series(nodeHost, `metric=proxmox_storage_used_bytes&from=${T0}&to=${T0 + 120}`);
    assert.deepEqual(body.series.map((s: any) => s.labels), [{ storage: "ceph" }, { storage: "local" }]);
    assert.deepEqual(body.series[1].points, [[T0, 10 * GiB], [T0 + 60, 11 * GiB], [T0 + 120, 12 * GiB]]);
    const local = await series(nodeHost, `metric=proxmox_storage_size_bytes&storage=local&from=${T0}&to=${T0 + 120}`);
    assert.equal(local.body.series.length, 1);
  });

  test("bad requests are 400 with a message saying what is wrong", async () => {
    const cases: Array<[string, RegExp]> = [
      ["", /^metric is required; one of: check_latency_seconds, check_up_ratio, cpu_busy_ratio, /],
      ["metric=node_load1", new RegExp(`^unknown metric "node_load1"; known metrics: ${METRIC_NAMES.join(", ")}$`)],
      ["metric=load1&metric=load5", /^metric given 2 times; give it once$/],
      ["metric=load1&from=yesterday", /^from="yesterday" is not a time: give RFC 3339 .* or Unix seconds/],
      ["metric=load1&from=2025-02-30T00:00:00Z", /^from="2025-02-30T00:00:00Z" is not a time/],
      ["metric=load1&to=2025-06-01T10:00:00", /^to="2025-06-01T10:00:00" is not a time/],
      [`metric=load1&from=${T0 + 1}&to=${T0}`, /^from \(2025-06-01T10:00:01.000Z\) is after to \(2025-06-01T10:00:00.000Z\)$/],
      ["metric=load1&step=0", /^step="0" is not a positive duration/],
      ["metric=load1&step=5x", /^step="5x" is not a positive duration/],
      [`metric=load1&from=${T0}&to=${T0 + 86_400}&step=1s`, /^step=1s over 86400s makes 86401 points per series, over the limit of 11000; use a larger step or a shorter range$/],
      ["metric=load1&source=netflow", /^source="netflow": give agent, proxmox or snmp$/],
      ["metric=load1&source=snmp", /^metric load1 does not come from snmp; it comes from agent only$/],
      ["metric=interface_up_ratio&source=agent", /^metric interface_up_ratio does not come from agent; it comes from snmp only$/],
      ["metric=load1&source=proxmox", /^metric load1 does not come from proxmox; it comes from agent only$/],
      ["metric=cpu_busy_ratio&mountpoint=/", /^metric cpu_busy_ratio has no mountpoint label$/],
      ["metric=filesystem_used_bytes&storage=local", /^metric filesystem_used_bytes has no storage label; its series are told apart by mountpoint$/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await series(agentHost, query);
      assert.equal(status, 400, query);
      assert.equal(body.error.code, "BAD_REQUEST", query);
      assert.match(body.error.message, message, query);
    }
    const badId = await get("/api/v1/hosts/abc/series?metric=load1");
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error.code, "BAD_REQUEST");
  });

  test("an unknown host is 404 as for GET /api/v1/hosts/:id", async () => {
    const detail = await get("/api/v1/hosts/999999");
    const { status, body } = await series(999_999, `metric=load1&from=${T0}&to=${T0 + 60}`);
    assert.equal(status, 404);
    assert.deepEqual(body, detail.body);
    assert.deepEqual(body, { error: { code: "NOT_FOUND", message: "no host with id 999999" } });
  });
});
