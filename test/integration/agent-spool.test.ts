// netmap-agent through a NATS outage: a private nats-server is stopped, the
// agent keeps collecting into its on-disk spool, is restarted once meanwhile,
// and when NATS comes back every report collected arrives, once, in order.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { decodeReport } from "../../proto/src/codec.ts";
import { REPORT_SUBJECTS, REPORTS_STREAM } from "../../proto/src/subjects.ts";
import type { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { eventually, withLog } from "../helpers/wait.ts";
import { startAgentProcess, type RunningAgent } from "../helpers/agent-process.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const AGENT_ID = "spool-agent";


function startAgent(nats: string, spoolDir: string): RunningAgent {
  return startAgentProcess(process.execPath, [main, "--nats", nats, "--interval", "300ms", "--agent-id", AGENT_ID, "--spool-dir", spoolDir], {
    env: { ...process.env, NETMAP_LOG_LEVEL: "debug" },
  });
}

/** The seq of every report the agent built, from its "cycle done" log lines. */
function cycles(agent: RunningAgent): number[] {
  return agent
    .stderr()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; seq?: number })
    .filter((entry) => entry.msg === "cycle done")
    .map((entry) => entry.seq!);
}

describe("netmap-agent spool", () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let stateDir: string;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });
    stateDir = mkdtempSync(join(tmpdir(), "netmap-agent-spool-"));
  });
  after(async () => {
    await nc?.close();
    await nats?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const spooled = () => readdirSync(join(stateDir, "reports")).filter((name) => name.endsWith(".report")).length;
  const stored = async () => (await jsm.streams.info(REPORTS_STREAM)).state.messages;

  it("delivers every report collected during an outage and across a restart exactly once, in order", async () => {
    const first = startAgent(nats.url, stateDir);
    await eventually(async () => (await stored()) >= 2, withLog("2 reports stored", first.stderr), 15_000);

    await nats.stop();
    await eventually(() => spooled() >= 3, withLog("3 reports spooled", first.stderr), 15_000);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0, first.stderr());
    const spooledByFirst = spooled();
    assert.ok(spooledByFirst >= 3);

    const second = startAgent(nats.url, stateDir);
    await eventually(() => /reports waiting from an earlier run/.test(second.stderr()), withLog("the restarted agent to find the spool", second.stderr), 10_000);
    await eventually(() => spooled() >= spooledByFirst + 3, withLog("3 more reports spooled", second.stderr), 15_000);

    await nats.start();
    await eventually(() => spooled() === 0, withLog("the spool replayed", second.stderr), 20_000);
    // A few more cycles straight through, after the backlog.
    const afterReplay = cycles(second).length;
    await eventually(() => cycles(second).length >= afterReplay + 2, withLog("2 cycles after the replay", second.stderr), 10_000);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0, second.stderr());

    const collected = [...cycles(first), ...cycles(second)];
    const total = await stored();
    assert.equal(total, collected.length, `${collected.length} reports collected, ${total} stored`);

    const consumer = await js.consumers.get(REPORTS_STREAM);
    const received: HostReport[] = [];
    while (received.length < total) {
      const msg = await consumer.next({ expires: 5_000 });
      assert.ok(msg, `only ${received.length} of ${total} reports read back`);
      received.push(decodeReport(msg.data));
    }
    const keys = received.map((r) => `${r.bootId}.${r.seq}`);
    assert.equal(new Set(keys).size, keys.length, "no report twice");
    assert.deepEqual(received.map((r) => r.seq).sort((a, b) => a - b), [...collected].sort((a, b) => a - b), "exactly the reports collected");
    for (let i = 1; i < received.length; i++) {
      const [a, b] = [received[i - 1]!, received[i]!];
      assert.ok(a.collectedAt!.getTime() <= b.collectedAt!.getTime() && a.seq < b.seq, `report ${i} (seq ${b.seq}) out of order after seq ${a.seq}`);
    }

    // Self-observation: the spool depth rose during the outage, and the first report after the restart saw the earlier run's backlog.
    const depths = received.map((r) => r.agent?.spoolReports ?? 0);
    assert.ok(Math.max(...depths) >= spooledByFirst + 2, `spool depths ${depths.join(",")}`);
    const secondRun = received.filter((r) => r.seq >= cycles(second)[0]!);
    assert.equal(secondRun[0]!.agent?.spoolReports, spooledByFirst);
    assert.ok(received.every((r) => r.agent!.droppedReportsTotal === 0 && r.agent!.residentBytes > 0));
  });
});
