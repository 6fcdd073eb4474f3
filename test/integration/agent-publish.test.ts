// netmap-agent against a real nats-server: reports reach NETMAP_REPORTS in
// order with Nats-Msg-Id set, survive the stream appearing late, and a
// restarted agent never repeats a seq of the same boot.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { decodeReport } from "../../proto/src/codec.ts";
import { REPORT_SUBJECTS, REPORTS_STREAM, reportSubject } from "../../proto/src/subjects.ts";
import type { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { eventually, withLog } from "../helpers/wait.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const AGENT_ID = "itest-agent";


function startAgent(nats: string, spoolDir: string): RunningAgent {
  return startAgentProcess(process.execPath, [main, "--nats", nats, "--interval", "1s", "--agent-id", AGENT_ID, "--spool-dir", spoolDir], {
    env: { ...process.env, NETMAP_LOG_LEVEL: "debug" },
  });
}


describe("netmap-agent publishing", () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let spoolDir: string;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    spoolDir = mkdtempSync(join(tmpdir(), "netmap-agent-spool-"));
  });
  after(async () => {
    await nc?.close();
    await nats?.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  async function readReports(count: number): Promise<{ report: HostReport; msgId: string | undefined; subject: string }[]> {
    const consumer = await js.consumers.get(REPORTS_STREAM);
    const out = [];
    while (out.length < count) {
      const msg = await consumer.next({ expires: 10_000 });
      assert.ok(msg, `only ${out.length} of ${count} reports arrived`);
      out.push({ report: decodeReport(msg.data), msgId: msg.headers?.get("Nats-Msg-Id"), subject: msg.subject });
    }
    return out;
  }

  it("publishes reports queued before the stream existed, then one per interval, seq rising by 1, and exits 0 on SIGTERM", async () => {
    const agent = startAgent(nats.url, spoolDir);
    // No stream yet: the agent warns once and keeps its reports queued.
    await eventually(() => /cannot publish reports/.test(agent.stderr()), withLog("the agent to say it cannot publish", () => agent.stderr()), 10_000);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });
    await eventually(async () => (await jsm.streams.info(REPORTS_STREAM)).state.messages >= 4, withLog("4 reports stored", () => agent.stderr()), 15_000);
    assert.equal(await stopAgent(agent), 0, agent.stderr());
    assert.equal(agent.stderr().match(/cannot publish reports/g)?.length, 1, "the outage is logged once");

    const total = (await jsm.streams.info(REPORTS_STREAM)).state.messages;
    const received = await readReports(total);
    const firstSeq = received[0]!.report.seq;
    received.forEach(({ report, msgId, subject }, i) => {
      assert.equal(subject, reportSubject(AGENT_ID));
      assert.equal(report.agentId, AGENT_ID);
      assert.equal(report.seq, firstSeq + i, "seq rises by 1 within a process");
      assert.equal(msgId, `${AGENT_ID}.${report.bootId}.${report.seq}`);
      assert.equal(report.intervalSeconds, 1);
    });
    assert.equal(received[0]!.report.cpu?.usagePercent, undefined, "no rate on the first cycle");
    assert.notEqual(received[1]!.report.cpu?.usagePercent, undefined, "rates from the second cycle on");
    // containers: auto is on by default and succeeds with nothing where no engine socket exists.
    // checks: a publishing agent runs what the collector gives it (none here), so it always has the collector.
    const expected = ["checks", "containers", "cpu", "disks", "interfaces", "listeners", "memory", "mounts", "os"];
    for (const { report } of received) {
      assert.deepEqual(report.collectors.map((c) => c.name).sort(), expected);
      assert.ok(report.collectors.every((c) => c.success), JSON.stringify(report.collectors));
    }
  });

  it("never repeats a seq after a restart in the same boot, even with a fresh state directory", async () => {
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(REPORTS_STREAM)).state.messages;
    const agent = startAgent(nats.url, join(spoolDir, "fresh"));
    await eventually(async () => (await jsm.streams.info(REPORTS_STREAM)).state.messages >= before + 2, withLog("2 more reports stored", () => agent.stderr()), 15_000);
    assert.equal(await stopAgent(agent), 0, agent.stderr());
    const all = await readReports((await jsm.streams.info(REPORTS_STREAM)).state.messages);
    const seqs = all.map(({ report }) => report.seq);
    assert.equal(new Set(seqs).size, seqs.length, "no seq used twice");
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "the restarted agent's seqs are above the first run's");
  });
});
