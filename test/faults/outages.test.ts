// Outages around one collector, under load from real agents: PostgreSQL cut off by a TCP proxy
// and back, an agent cut off from NATS past its spool's bound, agents whose clocks are an hour
// off. Every case ends by counting rows: the reports the agents built against report_samples,
// lost = built but neither stored nor counted as dropped by the agent, doubled = stored twice.
// Figures go to docs/reliability.md.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { decodeReport } from "../../proto/src/codec.ts";
import { REPORTS_STREAM, reportSubject } from "../../proto/src/subjects.ts";
import {
  builtReports,
  countReports,
  signal,
  startAgentProcess,
  startCollectorProcess,
  type CollectorProcess,
  type Process,
} from "../helpers/fault-rig.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const TOKEN = "outages-token";
const PG_OUTAGE_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const figure = (line: Record<string, unknown>) => process.stdout.write(`# figures ${JSON.stringify(line)}\n`);
type Agent = { agentId: string; proc: Process };

describe("faults: outages around one collector", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let pgProxy: TcpProxy;
  let natsProxy: TcpProxy;
  let collector: CollectorProcess;
  let agents: Agent[] = [];
  const started: Process[] = [];

  /** Agents reach NATS through natsProxy; the collector reaches PostgreSQL through pgProxy. */
  const startAgent = (agentId: string, extra: { interval?: string; spoolMaxSize?: string; clockOffset?: string } = {}): Agent => {
    const proc = startAgentProcess({ natsUrls: `nats://127.0.0.1:${natsProxy.port}`, agentId, spoolDir: join(dir, agentId), ...extra });
    started.push(proc);
    return { agentId, proc };
  };
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  /** Waits until every report the agents built and did not drop is stored, then stops them. */
  const settle = async (droppedSoFar: () => number = () => 0) => {
    let last: unknown;
    const counts = await eventually(async () => {
      const c = await countReports(database.url, agents);
      last = c;
      return c.lost <= droppedSoFar() && c;
    }, () => `every report the agents kept to be stored (${droppedSoFar()} dropped): ${JSON.stringify(last)}`, 90_000);
    for (const a of agents) await signal(a.proc, "SIGTERM");
    // The reports of the agents' last cycles, flushed on SIGTERM.
    await sleep(1500);
    const final = await countReports(database.url, agents);
    const dropped = droppedSoFar();
    return { ...final, lost: final.lost - dropped, dropped, sentBeforeStop: counts.sent };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-outages-"));
    nats = await startNatsServer();
    database = await createTestDatabase();
    pgProxy = await startTcpProxy(5432);
    natsProxy = await startTcpProxy(nats.port);
    const viaProxy = new URL(database.url);
    viaProxy.port = String(pgProxy.port);
    const configFile = join(dir, "netmap.yaml");
    writeFileSync(configFile, "hosts:\n  stale_after: 5s\n  down_after: 10s\n");
    collector = await startCollectorProcess({ natsUrls: nats.url, databaseUrl: viaProxy.toString(), configFile, token: TOKEN });
  });

  after(async () => {
    for (const proc of started) await signal(proc, "SIGKILL");
    await signal(collector, "SIGKILL");
    await pgProxy?.close();
    await natsProxy?.close();
    await database?.drop();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("PostgreSQL cut off for 20 s during ingest, then back: /readyz says so, every report stored once", async () => {
    agents = [startAgent("outage-pg-a"), startAgent("outage-pg-b")];
    await eventually(async () => (await countReports(database.url, agents)).stored >= 4, withLog("the first reports", collector.log), 30_000);
    await pgProxy.cut();
    const readyz = async () => {
      const response = await fetch(`${collector.httpUrl}/readyz`);
      return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
    };
    try {
      const down = await eventually(async () => {
        const r = await readyz();
        return r.status === 503 && r.body.checks.database === "unavailable" && r;
      }, "/readyz to name the database");
      assert.equal(down.body.checks.nats, "ok");
      await sleep(PG_OUTAGE_MS);
    } finally {
      await pgProxy.restore();
    }
    const restoredAt = Date.now();
    await eventually(async () => (await readyz()).status === 200, withLog("/readyz to answer 200 again", collector.log), 60_000);
    const readyMs = Date.now() - restoredAt;
    const counts = await settle();
    figure({ case: "PostgreSQL cut for 20 s", ...counts, readyAfterRestoreMs: readyMs });
    assert.ok(collector.lines().some((l) => l.msg === "database is back; stored the held reports"), "the held batch was stored");
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);
    assert.ok(counts.sent >= 40, `only ${counts.sent} reports`);
  });

  test("an agent cut off from NATS past its spool's bound: the spool replays in order, the oldest are dropped and counted", async () => {
    const agent = startAgent("outage-spool", { interval: "100ms", spoolMaxSize: "1MB" });
    agents = [agent];
    await eventually(async () => (await countReports(database.url, agents)).stored >= 2, withLog("its first reports", agent.proc.log), 30_000);
    await natsProxy.cut();
    const cutAt = Date.now();
    const droppedFile = join(dir, agent.agentId, "reports", "dropped-total");
    const droppedSoFar = () => {
      try {
        return Number(readFileSync(droppedFile, "utf8"));
      } catch {
        return 0;
      }
    };
    try {
      await eventually(() => droppedSoFar() >= 30, withLog("the spool to overflow by 30 reports", agent.proc.log), 150_000);
    } finally {
      await natsProxy.restore();
    }
    const outageMs = Date.now() - cutAt;
    const restoredAt = Date.now();
    const droppedAtRestore = droppedSoFar();
    const counts = await settle(droppedSoFar);
    const caughtUpMs = Date.now() - restoredAt;
    // Reports built while the backlog replays join its end, so the spool keeps to its bound until it drains.
    const dropped = counts.dropped;
    assert.ok(dropped >= droppedAtRestore);
    figure({ case: "agent cut from NATS past a 1 MB spool", ...counts, droppedAtRestore, outageSeconds: Math.round(outageMs / 1000), caughtUpMs });

    // The missing reports are the oldest of the outage: one run of seqs, everything before and after stored, except
    // a report being replayed when the bound is hit, which the spool spares (it may be on the wire) and stores.
    const stored = new Set((await query<{ seq: string }>(
      "SELECT r.seq FROM report_samples r JOIN hosts h ON h.id = r.host_id WHERE h.agent_id = $1", [agent.agentId],
    )).map((r) => Number(r.seq)));
    const built = builtReports(agent.proc).sort((a, b) => a - b);
    const missing = built.filter((seq) => !stored.has(seq));
    assert.equal(missing.length, dropped, `missing ${missing.length}, the agent counted ${dropped} dropped`);
    const sparedInRun = built.filter((seq) => seq > missing[0]! && seq < missing.at(-1)! && stored.has(seq));
    assert.ok(sparedInRun.length <= 3, `not one run: missing ${missing.join(",")}, stored among them ${sparedInRun.join(",")}`);
    assert.ok(built.some((seq) => seq < missing[0]!) && built.some((seq) => seq > missing.at(-1)!), "reports before and after the dropped ones were kept");
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);

    // In order: the stream holds the agent's reports in the order they were built.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const reader = await jsm.consumers.add(REPORTS_STREAM, { filter_subject: reportSubject(agent.agentId), ack_policy: AckPolicy.None, inactive_threshold: 60e9 });
      const consumer = await jetstream(nc).consumers.get(REPORTS_STREAM, reader.name);
      const seqs: number[] = [];
      const messages = await consumer.fetch({ max_messages: stored.size, expires: 5000 });
      for await (const msg of messages) seqs.push(Number(decodeReport(msg.data).seq));
      assert.equal(seqs.length, stored.size);
      assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), `replayed out of order: ${seqs.join(",")}`);
    } finally {
      await nc.close();
    }
  });

  test("agents with clocks an hour ahead and an hour behind: up on the collector's clock, each series in order, nothing lost", async () => {
    const ahead = startAgent("outage-clock-ahead", { clockOffset: "+1h" });
    const behind = startAgent("outage-clock-behind", { clockOffset: "-1h" });
    agents = [ahead, behind];
    await eventually(async () => (await countReports(database.url, agents)).stored >= 20, withLog("their reports", collector.log), 60_000);
    const hosts = await eventually(async () => {
      const response = await fetch(`${collector.httpUrl}/api/v1/hosts`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const list = ((await response.json()) as { hosts: Array<{ agentId: string; status: string }> }).hosts.filter((h) => h.agentId.startsWith("outage-clock-"));
      return list.length === 2 && list;
    }, "both hosts listed");
    assert.deepEqual(hosts.map((h) => h.status), ["up", "up"], JSON.stringify(hosts));
    const counts = await settle();

    const skew = await query<{ agent_id: string; skew_s: number; in_order: boolean }>(
      `SELECT h.agent_id,
              avg(extract(epoch FROM r.collected_at - now()))::float8 AS skew_s,
              bool_and(r.collected_at > r.previous) AS in_order
         FROM (SELECT host_id, collected_at, lag(collected_at, 1, '-infinity') OVER (PARTITION BY host_id ORDER BY seq) AS previous FROM report_samples) r
         JOIN hosts h ON h.id = r.host_id
        WHERE h.agent_id LIKE 'outage-clock-%' GROUP BY h.agent_id ORDER BY h.agent_id`,
    );
    figure({ case: "agent clocks +1 h and -1 h", ...counts, skewSeconds: skew.map((s) => Math.round(s.skew_s)) });
    assert.deepEqual(skew.map((s) => s.agent_id), ["outage-clock-ahead", "outage-clock-behind"]);
    assert.ok(Math.abs(skew[0]!.skew_s - 3600) < 300, `ahead by ${skew[0]!.skew_s} s`);
    assert.ok(Math.abs(skew[1]!.skew_s + 3600) < 300, `behind by ${skew[1]!.skew_s} s`);
    assert.ok(skew.every((s) => s.in_order), "samples in seq order have rising times");
    assert.equal(counts.lost, 0);
    assert.equal(counts.doubled, 0);
  });
});
