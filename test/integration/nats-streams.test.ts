// The collector's streams are bounded: streams left by an older version without
// limits get them at start and keep their messages; an agent that publishes
// too much evicts only its own oldest reports; no report is over the size limit.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { encodeReport, MAX_REPORT_BYTES } from "../../proto/src/codec.ts";
import { EVENT_SUBJECTS, EVENTS_STREAM, REPORT_SUBJECTS, REPORTS_STREAM, reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const MiB = 1024 ** 2;
const MAX_MSGS_PER_AGENT = 10;

describe("NATS streams: bounded in bytes, per agent and per message", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  const publish = (agentId: string, seq: number) =>
    js.publish(reportSubject(agentId), encodeReport(sampleReport({ agentId, hostname: agentId, seq })), { msgID: reportMessageId(agentId, "boot", seq) });

  const heldFor = async (agentId: string) => {
    const subject = reportSubject(agentId);
    return (await jsm.streams.info(REPORTS_STREAM, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-streams-"));
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    // As a version without limits made them, holding reports the collector has not read yet.
    await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS], max_age: 7 * 24 * 3600 * 1e9 });
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: EVENT_SUBJECTS });
    for (let seq = 1; seq <= 5; seq++) await publish("before-upgrade", seq);

    const config = join(dir, "netmap.yaml");
    writeFileSync(config, `streams:\n  reports:\n    max_bytes: 64MiB\n    max_msgs_per_agent: ${MAX_MSGS_PER_AGENT}\n  events:\n    max_bytes: 32MiB\n`);
    database = await createTestDatabase();
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: { NETMAP_CONFIG: config } });
  });

  after(async () => {
    await collector?.stop();
    await nc?.close();
    await database?.drop();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("brings an older version's streams up to the configured limits at start, keeping their messages", async () => {
    const reports = await jsm.streams.info(REPORTS_STREAM);
    const { max_bytes, max_msgs_per_subject, max_msg_size, discard, max_age } = reports.config;
    assert.deepEqual(
      { max_bytes, max_msgs_per_subject, max_msg_size, discard, max_age },
      { max_bytes: 64 * MiB, max_msgs_per_subject: MAX_MSGS_PER_AGENT, max_msg_size: MAX_REPORT_BYTES + 1024, discard: DiscardPolicy.Old, max_age: 7 * 24 * 3600 * 1e9 },
    );
    assert.equal(reports.state.first_seq, 1);
    assert.equal(await heldFor("before-upgrade"), 5);

    const events = (await jsm.streams.info(EVENTS_STREAM)).config;
    assert.deepEqual({ max_bytes: events.max_bytes, max_msg_size: events.max_msg_size, discard: events.discard }, { max_bytes: 32 * MiB, max_msg_size: MiB, discard: DiscardPolicy.Old });
  });

  it("evicts only a flooding agent's own oldest reports, never another agent's", async () => {
    for (let seq = 1; seq <= 3 * MAX_MSGS_PER_AGENT; seq++) await publish("flooder", seq);
    for (let seq = 1; seq <= 3; seq++) await publish("quiet", seq);
    assert.equal(await heldFor("flooder"), MAX_MSGS_PER_AGENT);
    assert.equal(await heldFor("quiet"), 3);
    assert.equal(await heldFor("before-upgrade"), 5);
    // The newest stay: the last MAX_MSGS_PER_AGENT the flooder sent.
    const last = await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: reportSubject("flooder") });
    assert.equal(last?.header.get("Nats-Msg-Id"), reportMessageId("flooder", "boot", 3 * MAX_MSGS_PER_AGENT));
  });

  it("refuses a message over the largest report a decoder accepts", async () => {
    await assert.rejects(js.publish(reportSubject("quiet"), new Uint8Array(MAX_REPORT_BYTES + 2048)), /message size exceeds maximum allowed/);
    assert.equal(await heldFor("quiet"), 3);
  });
});
