// Reports no real agent sends, published with an agent's own subject among
// other agents' good reports: each is rejected with its reason, and every
// good report is stored — no message can stall ingest.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import pino from "pino";
import { Registry } from "prom-client";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { startIngest, type Ingest } from "../../collector/src/ingest/consumer.ts";
import { ingestMetrics } from "../../collector/src/ingest/metrics.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { MAX_REPORT_BYTES } from "../../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { eventually } from "../helpers/wait.ts";

const GOOD_AGENTS = ["good-a", "good-b", "good-c", "good-d"];
const REPORTS_EACH = 5;

/** As it goes on the wire: HostReport.encode, not encodeReport, which would refuse some of these itself. */
const publishRaw = (js: JetStreamClient, report: HostReport) =>
  js.publish(reportSubject(report.agentId), HostReport.encode(report).finish(), { msgID: reportMessageId(report.agentId, report.bootId, report.seq) });

async function samplesOf(sql: pg.Client, agents: string[]): Promise<number> {
  const { rows } = await sql.query("SELECT count(*)::int AS n FROM report_samples s JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = ANY($1)", [agents]);
  return rows[0].n;
}

async function consumerDrained(js: JetStreamClient, consumer: string): Promise<boolean> {
  const info = await (await js.jetstreamManager()).consumers.info("NETMAP_REPORTS", consumer);
  return info.num_ack_pending === 0 && info.num_pending === 0;
}

describe("ingest: hostile reports among good ones", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let sql: pg.Client;

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  after(async () => {
    await collector?.stop();
    await nc?.close();
    await sql?.end();
    await database?.drop();
    await nats?.close();
  });

  test("every good report is stored, each bad one is rejected with its reason, and ingest goes on", async () => {
    const base = sampleReport();
    const manyInterfaces = sampleReport({ agentId: "bad-interfaces", interfaces: Array.from({ length: 100_000 }, () => ({})) });
    const bad: Record<string, { report: HostReport; reason: RegExp }> = {
      "bad-hostname": { report: sampleReport({ agentId: "bad-hostname", hostname: "evil\u0000host" }), reason: /^hostname "evil\\x00host" holds a control character$/ },
      "bad-process": {
        report: sampleReport({ agentId: "bad-process", listeners: [{ ...base.listeners[0]!, process: "ss\u0000hd" }] }),
        reason: /^listeners\[0\]\.process "ss\\x00hd" holds a control character$/,
      },
      "bad-pid": { report: sampleReport({ agentId: "bad-pid", listeners: [{ ...base.listeners[0]!, pid: 4294967295 }] }), reason: /^listeners\[0\]\.pid 4294967295 is above 2147483647$/ },
      "bad-port": { report: sampleReport({ agentId: "bad-port", listeners: [{ ...base.listeners[0]!, port: 70_000 }] }), reason: /^listeners\[0\]\.port 70000 is above 65535$/ },
      // Empty interfaces are 3 bytes each: 100,000 of them fit the size limit, so the count limit is what refuses them.
      "bad-interfaces": { report: manyInterfaces, reason: /^interfaces has 100000 entries, over the limit of 4096$/ },
    };
    assert.ok(HostReport.encode(manyInterfaces).finish().length < MAX_REPORT_BYTES);

    // Interleaved, so bad and good reports share batches.
    const badReports = Object.values(bad).map((b) => b.report);
    for (let seq = 1; seq <= REPORTS_EACH; seq++) {
      for (const agentId of GOOD_AGENTS) await publishRaw(js, sampleReport({ agentId, hostname: agentId, seq }));
      if (badReports[seq - 1]) await publishRaw(js, badReports[seq - 1]!);
    }

    await eventually(async () => (await samplesOf(sql, GOOD_AGENTS)) === GOOD_AGENTS.length * REPORTS_EACH, "every good report to be stored");
    const { rows } = await eventually(async () => {
      const result = await sql.query("SELECT subject, reason FROM rejected_reports");
      return result.rows.length === badReports.length && result;
    }, "each bad report to be rejected");
    const reasons = Object.fromEntries(rows.map((r) => [r.subject, r.reason]));
    for (const [agentId, { reason }] of Object.entries(bad)) assert.match(reasons[reportSubject(agentId)] ?? "", reason, agentId);
    assert.equal(Number((await sql.query("SELECT count(*) FROM hosts WHERE agent_id LIKE 'bad-%'")).rows[0].count), 0, "no bad report made a host");

    await publishRaw(js, sampleReport({ agentId: "good-after", seq: 1 }));
    await eventually(async () => (await samplesOf(sql, ["good-after"])) === 1, "a good report published afterwards to be stored");
    await eventually(() => consumerDrained(js, "netmap-collector"), "every message to be acked");
    const metrics = (await collector.get("/metrics")).body as string;
    assert.match(metrics, /netmap_ingest_reports_total\{outcome="rejected"\} 5\b/);
  });
});

describe("ingest: a report that passes the check but that PostgreSQL refuses", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let db: Db;
  let nc: NatsConnection;
  let ingest: Ingest | undefined;
  let sql: pg.Client;
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    nc = await connect({ servers: nats.url });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  after(async () => {
    await ingest?.stop();
    await nc?.close();
    await db?.destroy();
    await sql?.end();
    await database?.drop();
    await nats?.close();
  });

  test("is isolated by splitting its batch, rejected with the database's reason, and the rest of the batch is stored", async () => {
    // The seam: past the check, this agent's mount gets an inode count PostgreSQL's bigint cannot hold (SQLSTATE 22003).
    const batchesWithPoison: number[] = [];
    const store: typeof storeBatch = (target, reports, rejections) => {
      if (reports.some((r) => r.report.agentId === "poison")) batchesWithPoison.push(reports.length);
      const poisoned = reports.map((r) =>
        r.report.agentId === "poison" ? { ...r, report: { ...r.report, mounts: [{ ...r.report.mounts[0]!, inodesUsed: 2 ** 63 }] } } : r,
      );
      return storeBatch(target, poisoned, rejections);
    };
    const agents = Array.from({ length: 9 }, (_, i) => `healthy-${i}`);
    const js = jetstream(nc);
    // The stream first, then every report, then the consumer: they arrive as one batch.
    await jetstreamManager(nc).then((jsm) => jsm.streams.add({ name: "NETMAP_REPORTS", subjects: ["netmap.v1.report.>"] }));
    for (const agentId of [...agents.slice(0, 4), "poison", ...agents.slice(4)]) await publishRaw(js, sampleReport({ agentId }));

    const sink = new Writable({ write: (chunk, _encoding, done) => (logs.push(...String(chunk).split("\n").filter(Boolean).map((l) => JSON.parse(l))), done()) });
    ingest = await startIngest({ nc, db, log: pino(sink), metrics: ingestMetrics(new Registry()), consumer: "seam", batchSize: 20, store });

    await eventually(async () => (await samplesOf(sql, agents)) === agents.length, "the nine healthy reports to be stored");
    const { rows } = await eventually(async () => {
      const result = await sql.query("SELECT subject, reason FROM rejected_reports");
      return result.rows.length > 0 && result;
    }, "the poisoned report to be rejected");
    assert.deepEqual(rows.map((r) => r.subject), ["netmap.v1.report.poison"]);
    assert.match(rows[0].reason, /^the database refused it: .*out of range/);
    assert.equal(await samplesOf(sql, ["poison"]), 0);
    // The halves stored after the failed batch carry boots that exist (no id kept from the rolled-back transaction).
    const { rows: orphans } = await sql.query("SELECT count(*)::int AS n FROM report_samples s LEFT JOIN host_boots b ON b.id = s.boot AND b.host_id = s.host_id WHERE b.id IS NULL");
    assert.equal(orphans[0].n, 0);
    assert.ok(batchesWithPoison[0]! > 1, `the poisoned report first came in a batch with others (${batchesWithPoison.join(", ")})`);
    assert.equal(batchesWithPoison.at(-1), 1, "and was tried alone last");
    assert.ok(logs.some((l) => l.msg === "rejected a report" && l.code === "REPORT_UNSTORABLE"));
    assert.ok(!logs.some((l) => String(l.msg).startsWith("cannot store reports")), "a data error is no outage: nothing was held for retry");
    await eventually(() => consumerDrained(js, "seam"), "every message to be acked");
  });
});
