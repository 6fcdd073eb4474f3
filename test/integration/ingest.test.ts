import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { encodeReport, MAX_REPORT_BYTES } from "../../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import type { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { eventually } from "../helpers/wait.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

describe("ingest: agent reports over JetStream into PostgreSQL", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let collector: TestCollector;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let sql: pg.Client;

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    // The collector reaches PostgreSQL through a proxy the tests can cut.
    proxy = await startTcpProxy(5432);
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: viaProxy.toString() });
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });

  after(async () => {
    await collector?.stop();
    await nc?.close();
    await sql?.end();
    await proxy?.close();
    await database?.drop();
    await nats?.close();
  });

  const publish = (report: HostReport, msgID = reportMessageId(report.agentId, report.bootId, report.seq)) =>
    js.publish(reportSubject(report.agentId), encodeReport(report), { msgID });
  const count = async (table: string, where = "true") =>
    Number((await sql.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)).rows[0].n);

  test("stores a report and serves the host with its headline figures, mounts, listeners and interfaces", async () => {
    await publish(sampleReport({ agentId: "agent-a", hostname: "web01", seq: 1 }));
    const { body } = await eventually(async () => {
      const response = await collector.get("/api/v1/hosts");
      return response.body.hosts.length === 1 && response;
    }, "the host to appear");
    const [host] = body.hosts;
    assert.equal(host.hostname, "web01");
    assert.equal(host.agentId, "agent-a");
    assert.equal(host.status, "up");
    assert.equal(host.cpuPercent, 12.5);
    assert.equal(host.memoryPercent, 25);
    assert.deepEqual(host.fullestMount, { mountpoint: "/", usedPercent: (60 / 95) * 100 });
    assert.deepEqual(host.addresses, ["192.0.2.10"], "loopback, link-local and virtual interfaces are not the host's addresses");

    const detail = (await collector.get(`/api/v1/hosts/${host.id}`)).body.host;
    assert.deepEqual(detail.mounts.map((m: any) => m.mountpoint), ["/", "/boot"]);
    assert.deepEqual(detail.listeners.map((l: any) => `${l.protocol}/${l.address}:${l.port}/${l.process}`), ["tcp/0.0.0.0:22/sshd", "udp/127.0.0.1:323/"]);
    assert.equal(detail.interfaces.find((i: any) => i.name === "eth0").mac, "52:54:00:12:34:56");
    assert.equal(detail.memory.totalBytes, 8 * 1024 ** 3);
    assert.equal(await count("host_interfaces", `host_id = ${host.id}`), 2, "the interfaces SNMP and adoption match MACs against");
  });

  test("rewrites a host's interfaces only when they change", async () => {
    const nic = (address: string) => ({ name: "eth0", mac: "52:54:00:aa:bb:cc", addresses: [{ address, prefixLength: 24 }], up: true, virtual: false });
    const interfaces = async () =>
      (await sql.query("SELECT i.xmin::text AS version, i.addresses FROM host_interfaces i JOIN hosts h ON h.id = i.host_id WHERE h.agent_id = 'agent-nic'")).rows;
    const stored = (seq: number) => eventually(async () => (await count("hosts", `agent_id = 'agent-nic' AND seq = ${seq}`)) === 1, `report ${seq}`);
    await publish(sampleReport({ agentId: "agent-nic", seq: 1, interfaces: [nic("192.0.2.20")] }));
    await stored(1);
    const [first] = await interfaces();
    assert.deepEqual(first.addresses, ["192.0.2.20/24"]);

    // Same interfaces, other figures: the row stays the one written first.
    await publish(sampleReport({ agentId: "agent-nic", seq: 2, interfaces: [{ ...nic("192.0.2.20"), rxBytesPerSecond: 999 }] }));
    await stored(2);
    assert.deepEqual(await interfaces(), [first]);

    // A new address: replaced.
    await publish(sampleReport({ agentId: "agent-nic", seq: 3, interfaces: [nic("192.0.2.21")] }));
    await stored(3);
    const [third] = await interfaces();
    assert.deepEqual(third.addresses, ["192.0.2.21/24"]);
    assert.notEqual(third.version, first.version);
  });

  test("keeps the latest report's bytes as the agent sent them, and samples whatever a mount is called", async () => {
    const odd = '/mnt/a "b"\\c,{d} NULL';
    const report = sampleReport({ agentId: "agent-bytes", seq: 1 });
    report.mounts[1]!.mountpoint = odd;
    const sent = encodeReport(report);
    await js.publish(reportSubject(report.agentId), sent, { msgID: reportMessageId(report.agentId, report.bootId, report.seq) });
    await eventually(async () => (await count("hosts", "agent_id = 'agent-bytes' AND seq = 1")) === 1, "the report");
    const { rows } = await sql.query("SELECT report FROM hosts WHERE agent_id = 'agent-bytes'");
    assert.ok(Buffer.from(sent).equals(rows[0].report), "hosts.report holds the bytes received");
    const { rows: mounts } = await sql.query(
      "SELECT m.mountpoint FROM mount_samples m JOIN hosts h ON h.id = m.host_id WHERE h.agent_id = 'agent-bytes' ORDER BY m.mountpoint");
    assert.deepEqual(mounts.map((m) => m.mountpoint), ["/", odd]);
  });

  test("stores a redelivered or replayed report once, whatever its message id", async () => {
    const report = sampleReport({ agentId: "agent-b", seq: 7 });
    await publish(report);
    await publish(report, "a-different-message-id"); // past JetStream's de-duplication window, as a spool replay would be
    await eventually(async () => (await count("report_samples", "seq = 7")) === 1, "the report to be stored");
    await publish(sampleReport({ agentId: "agent-b", seq: 8 }));
    await eventually(async () => (await count("report_samples", "seq = 8")) === 1, "the next report");
    assert.equal(await count("report_samples", "seq = 7"), 1);
    const metrics = (await collector.get("/metrics")).body as string;
    assert.match(metrics, /netmap_ingest_reports_total\{outcome="duplicate"\} [1-9]/);
  });

  test("a late report stays in the series but does not replace a newer latest state", async () => {
    const now = Date.now();
    await publish(sampleReport({ agentId: "agent-c", seq: 2, collectedAt: new Date(now), hostname: "newer" }));
    await eventually(async () => (await count("report_samples", "seq = 2 AND boot IS NOT NULL")) >= 1, "the newer report");
    await publish(sampleReport({ agentId: "agent-c", seq: 1, collectedAt: new Date(now - 10_000), hostname: "older" }));
    await eventually(async () => (await count("report_samples s JOIN hosts h ON h.id = s.host_id", "h.agent_id = 'agent-c'")) === 2, "both reports");
    const { rows } = await sql.query("SELECT hostname, seq FROM hosts WHERE agent_id = 'agent-c'");
    assert.deepEqual(rows[0], { hostname: "newer", seq: 2 });
  });

  test("rejects bad messages with their reason, acks them, and keeps ingesting", async () => {
    const before = await count("rejected_reports");
    await js.publish("netmap.v1.report.garbage", new Uint8Array([0xff, 0xff, 0xff, 0x07, 0x01]));
    await js.publish("netmap.v1.report.empty", new Uint8Array());
    await js.publish("netmap.v1.report.huge", new Uint8Array(MAX_REPORT_BYTES + 1));
    await js.publish("netmap.v1.report.someone-else", encodeReport(sampleReport({ agentId: "agent-d" })));
    await js.publish("netmap.v1.report.Not_Valid", encodeReport(sampleReport({ agentId: "agent-d" })));
    await publish(sampleReport({ agentId: "agent-d", hostname: "after-the-garbage" }));

    await eventually(async () => (await count("rejected_reports")) === before + 5, "five rejections");
    const { rows } = await sql.query("SELECT subject, reason FROM rejected_reports ORDER BY id");
    const reasons = Object.fromEntries(rows.map((r) => [r.subject, r.reason]));
    assert.match(reasons["netmap.v1.report.garbage"], /not a HostReport|no agent_id/);
    assert.match(reasons["netmap.v1.report.empty"], /empty message/);
    assert.match(reasons["netmap.v1.report.huge"], /over the 524288-byte limit/);
    assert.match(reasons["netmap.v1.report.someone-else"], /disagrees with the subject/);
    assert.match(reasons["netmap.v1.report.Not_Valid"], /invalid agent id/);
    await eventually(async () => (await count("hosts", "hostname = 'after-the-garbage'")) === 1, "the good report after the bad ones");
    const warnings = collector.logs.filter((l) => l.msg === "rejected a report");
    assert.equal(warnings.filter((l) => l.subject === "netmap.v1.report.empty").length, 1, "each rejection is logged once");

    // Acked: nothing is left pending on the durable consumer.
    const jsm = await js.jetstreamManager();
    await eventually(async () => {
      const info = await jsm.consumers.info("NETMAP_REPORTS", "netmap-collector");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, "the consumer to have acked everything");
  });

  test("holds reports unacked while PostgreSQL is unreachable and stores them all when it is back", async () => {
    await proxy.cut();
    const reports = Array.from({ length: 20 }, (_, i) => sampleReport({ agentId: "agent-e", seq: i + 1 }));
    for (const report of reports) await publish(report);
    await eventually(async () => collector.logs.some((l) => l.msg.startsWith("cannot store reports")), "the outage to be logged");
    assert.equal(await count("report_samples s JOIN hosts h ON h.id = s.host_id", "h.agent_id = 'agent-e'"), 0);
    await proxy.restore();
    await eventually(
      async () => (await count("report_samples s JOIN hosts h ON h.id = s.host_id", "h.agent_id = 'agent-e'")) === 20,
      "all 20 held reports to be stored",
      40_000,
    );
    assert.ok(collector.logs.some((l) => l.msg === "database is back; stored the held reports"));
  });

  test("healthz reports the database and NATS", async () => {
    const { status, body } = await collector.get("/healthz");
    assert.equal(status, 200);
    assert.deepEqual(body, { status: "ok", checks: { database: "ok", nats: "ok" } });
  });

  test("an unknown host id is a JSON 404 and a malformed one a 400", async () => {
    const missing = await collector.get("/api/v1/hosts/999999");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "NOT_FOUND");
    const malformed = await collector.get("/api/v1/hosts/abc");
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, "BAD_REQUEST");
  });
});
