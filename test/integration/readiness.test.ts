import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { Registry } from "prom-client";
import { encodeReport } from "../../proto/src/codec.ts";
import { REPORTS_STREAM, reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { openDatabase, type Db } from "../../collector/src/db/database.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { ensureReportStream } from "../../collector/src/ingest/consumer.ts";
import { consumerLagReader } from "../../collector/src/ingest/lag.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { eventually } from "../helpers/wait.ts";

const CONSUMER = "netmap-collector";
const BACKLOG = 12;
const HANDED_BACK = 3;

// A backlog made before any collector runs: reports in the stream, three of them delivered once
// and handed back unacked, so JetStream's own counts say "behind" and "redelivered".
describe("readiness: /readyz and the consumer's backlog on /metrics", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let db: Db;
  let probe: FastifyInstance;
  let collector: TestCollector | undefined;
  const dir = mkdtempSync(join(tmpdir(), "netmap-readiness-"));

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    await ensureReportStream(nc, CONSUMER);
    for (let seq = 1; seq <= BACKLOG; seq++) {
      const report = sampleReport({ agentId: "agent-r", seq });
      await js.publish(reportSubject("agent-r"), encodeReport(report), { msgID: reportMessageId("agent-r", report.bootId, seq) });
    }
    const early = await js.consumers.get(REPORTS_STREAM, CONSUMER);
    const batch = await early.fetch({ max_messages: HANDED_BACK, expires: 2000 });
    for await (const msg of batch) msg.nak();

    // A second app over the same consumer, as a probe the collector under test does not feed.
    const file = join(dir, "netmap.yaml");
    writeFileSync(file, `ingest:\n  ready_max_lag: 5\n`);
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url }, configFlag: file });
    db = openDatabase(database.url, { max: 1 });
    probe = await buildApp(
      { config, db, registry: new Registry(), natsConnected: () => !nc.isClosed(), consumerLag: consumerLagReader(nc, CONSUMER), token: "readiness-token" },
      pino({ level: "silent" }),
    );
  });

  after(async () => {
    await collector?.stop();
    await probe?.close();
    await db?.destroy();
    await nc?.close();
    await database?.drop();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/readyz answers 503 without a token while more reports wait than ingest.ready_max_lag, naming the consumer", async () => {
    const response = await probe.inject({ method: "GET", url: "/readyz" });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), {
      status: "not ready",
      checks: { database: "ok", nats: "ok", consumer: "behind" },
      consumer: { unstoredReports: BACKLOG, readyMaxLag: 5 },
    });
    assert.equal(response.headers["cache-control"], "no-store");
  });

  test("a collector stores the backlog; its metrics count the handed-back reports as redeliveries and the backlog falls to 0", async () => {
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
    await eventually(async () => (await probe.inject({ method: "GET", url: "/readyz" })).statusCode === 200, "the probe to see the backlog stored", 20_000);
    const ready = await collector.fetch("/readyz", { headers: { authorization: "" } });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready", checks: { database: "ok", nats: "ok", consumer: "ok" }, consumer: { unstoredReports: 0, readyMaxLag: 10_000 } });

    const metrics = (await collector.get("/metrics")).body as string;
    assert.match(metrics, /^netmap_ingest_redeliveries_total 3$/m);
    assert.match(metrics, /^netmap_ingest_consumer_pending_messages 0$/m);
    assert.match(metrics, /^netmap_ingest_consumer_ack_pending_messages 0$/m);
    assert.match(metrics, /^netmap_ingest_consumer_redelivered_messages 0$/m);
    assert.match(metrics, /^netmap_ingest_reports_total\{outcome="stored"\} 12$/m);
  });

  test("with NATS gone /readyz names nats and an unknown backlog, says nothing of the servers, and /metrics shows the backlog as NaN", async () => {
    assert.ok(collector, "the previous test started the collector");
    await nats.stop();
    try {
      const answer = await eventually(async () => {
        const response = await collector!.fetch("/readyz", { headers: { authorization: "" } });
        const body = (await response.json()) as { checks: Record<string, string> };
        return response.status === 503 && body.checks.nats === "disconnected" && { status: response.status, body };
      }, "the collector to notice NATS is gone");
      assert.deepEqual(answer.body, { status: "not ready", checks: { database: "ok", nats: "disconnected", consumer: "unknown" } });
      // Once the last answer (kept a second) is past, the scrape asks JetStream and gets nothing.
      // prom-client writes NaN as "Nan", which Prometheus parses (strconv.ParseFloat ignores case).
      await eventually(async () => /^netmap_ingest_consumer_pending_messages NaN$/im.test((await collector!.get("/metrics")).body), "the backlog to show as NaN");
      const text = JSON.stringify(answer.body);
      for (const secret of [collector.token, String(nats.port), database.url]) assert.ok(!text.includes(secret), secret);
    } finally {
      await nats.start();
    }
  });
});
