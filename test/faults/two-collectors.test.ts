// Faults under load from real agents, on a 3-node nats-server cluster with two collectors on
// one durable consumer: collectors SIGKILLed during ingest, a NATS node killed and restarted,
// the holder of the absence-check lease killed. Every case ends by counting rows: every report
// the agents built is stored (0 lost) and none twice (0 doubled); every alert transition is
// paged once. Figures go to docs/reliability.md.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  countReports,
  signal,
  startAgentProcess,
  startCollectorProcess,
  startWebhookReceiver,
  type CollectorProcess,
  type Process,
  type WebhookReceiver,
} from "../helpers/fault-rig.ts";
import { startNatsCluster, type TestNatsCluster } from "../helpers/nats-cluster.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const TOKEN = "faults-token";
const AGENTS = ["fault-a", "fault-b"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** One line of figures per case, for docs/reliability.md. */
const figure = (line: Record<string, unknown>) => process.stdout.write(`# figures ${JSON.stringify(line)}\n`);

describe("faults: two collectors on a 3-node NATS cluster", () => {
  let dir: string;
  let cluster: TestNatsCluster;
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let configFile: string;
  const collectors: CollectorProcess[] = [];
  let agents: Array<{ agentId: string; proc: Process }> = [];

  const startCollector = () => startCollectorProcess({ natsUrls: cluster.urls, databaseUrl: database.url, configFile, token: TOKEN });
  const startAgent = (agentId: string) => startAgentProcess({ natsUrls: cluster.urls, agentId, spoolDir: join(dir, agentId) });
  /** Stops the agents (SIGTERM: their last reports flushed), waits until the stored count is still, and counts. */
  const settle = async () => {
    for (const a of agents) await signal(a.proc, "SIGTERM");
    let last = -1;
    return eventually(async () => {
      const counts = await countReports(database.url, agents);
      const still = counts.stored === last && counts.lost === 0;
      last = counts.stored;
      return still ? counts : (await sleep(1000), false);
    }, "every report stored, the count still for a second", 60_000);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-faults-"));
    cluster = await startNatsCluster(3);
    database = await createTestDatabase();
    receiver = await startWebhookReceiver();
    configFile = join(dir, "netmap.yaml");
    writeFileSync(configFile, `notifiers:\n  - name: ops\n    type: webhook\n    url: ${receiver.url}\nhosts:\n  stale_after: 2s\n  down_after: 4s\nrules:\n  HostDown:\n    for: 0s\n`);
    collectors.push(await startCollector(), await startCollector());
  });

  after(async () => {
    for (const a of agents) await signal(a.proc, "SIGKILL");
    for (const c of collectors) await signal(c, "SIGKILL");
    await receiver?.close();
    await database?.drop();
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the streams are replicated on all three nodes", async () => {
    const { connect } = await import("@nats-io/transport-node");
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const nc = await connect({ servers: cluster.urls.split(",") });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of ["NETMAP_REPORTS", "NETMAP_EVENTS"]) {
        const info = await jsm.streams.info(name);
        assert.equal(info.config.num_replicas, 3, name);
        assert.equal(1 + (info.cluster?.replicas?.length ?? 0), 3, name);
      }
    } finally {
      await nc.close();
    }
  });

  test("the absence-check holder killed: the other collector takes over, HostDown is paged once and resolved once", async () => {
    const holderIndex = await eventually(
      () => {
        const i = collectors.findIndex((c) => c.lines().some((l) => l.lease === "absence-check" && /holding the lease/.test(l.msg)));
        return i >= 0 ? i + 1 : false;
      },
      "a collector holding the absence-check lease",
    );
    const holder = collectors[holderIndex - 1]!;
    const other = collectors[2 - holderIndex]!;
    const agentId = "fault-down";
    agents = [{ agentId, proc: startAgent(agentId) }];
    await eventually(async () => (await countReports(database.url, agents)).stored >= 2, withLog("its first reports", agents[0]!.proc.log), 30_000);

    const killedAt = Date.now();
    await signal(holder, "SIGKILL");
    await eventually(() => other.lines().some((l) => l.lease === "absence-check" && /holding the lease/.test(l.msg)), withLog("the other collector to take the lease", other.log), 30_000);
    const failoverMs = Date.now() - killedAt;
    collectors[holderIndex - 1] = await startCollector();

    // Runs first: the agents of the later cases run on this machine too, and hosts of one name share one HostDown alert.
    const hostDown = () => receiver.pages.filter((p) => p.alertname === "HostDown");
    const before = hostDown().length;
    await signal(agents[0]!.proc, "SIGTERM");
    await eventually(() => hostDown().slice(before).some((p) => p.status === "firing"), () => `HostDown paged: ${JSON.stringify(hostDown())}`, 60_000);
    agents = [{ agentId, proc: startAgent(agentId) }];
    await eventually(() => hostDown().slice(before).some((p) => p.status === "resolved"), "HostDown resolved", 60_000);
    await sleep(12_000); // both collectors' absence ticks (10 s) have run again
    const byAlert = Object.values(Object.groupBy(hostDown(), (p) => p.fingerprint)).map((pages) => pages!.map((p) => p.status));
    figure({ case: "absence-check holder SIGKILL", failoverMs, pages: hostDown().length, sequences: byAlert });
    for (const statuses of byAlert) {
      assert.ok(statuses.every((status, i) => i === 0 || status !== statuses[i - 1]), `a transition paged twice: ${statuses.join(", ")}`);
    }
    assert.deepEqual(hostDown().slice(before).map((p) => p.status), ["firing", "resolved"]);
    const counts = await settle();
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);
  });

  test("SIGKILL of a collector ten times during ingest: every report stored once", async () => {
    agents = AGENTS.map((agentId) => ({ agentId, proc: startAgent(agentId) }));
    const started = Date.now();
    for (let kill = 0; kill < 10; kill++) {
      await sleep(1500);
      const victim = collectors[kill % 2]!;
      await signal(victim, "SIGKILL");
      collectors[kill % 2] = await startCollector();
    }
    const counts = await settle();
    figure({ case: "collector SIGKILL x10 (two collectors)", ...counts, seconds: Math.round((Date.now() - started) / 1000) });
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);
    assert.ok(counts.sent >= 20, `only ${counts.sent} reports`);
  });

  test("one NATS node killed during ingest, then restarted: every report stored once", async () => {
    agents = AGENTS.map((agentId) => ({ agentId: `${agentId}-nats`, proc: startAgent(`${agentId}-nats`) }));
    await sleep(2000);
    const node = cluster.nodes[0]!;
    const killedAt = Date.now();
    await node.kill();
    await sleep(5000);
    await node.start();
    await sleep(3000);
    const counts = await settle();
    figure({ case: "NATS node SIGKILL and restart", ...counts, seconds: Math.round((Date.now() - killedAt) / 1000) });
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);
  });


});
