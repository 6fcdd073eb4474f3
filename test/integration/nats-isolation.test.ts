// One agent's NATS credential reads nothing of the fleet: a nats-server with
// the permission blocks of deploy/nats/agent-permissions.conf as shipped, the
// real collector and two real agents (from source), each with its own user.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { agentInboxPrefix, AUDIT_SUBJECT_PREFIX, COLLECTOR_INBOX_PREFIX, REPORT_SUBJECTS, REPORTS_STREAM, reportSubject } from "../../proto/src/subjects.ts";
import { DEFAULT_STREAM_LIMITS } from "../../collector/src/nats/streams.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { authorization } from "../helpers/nats-permissions.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const A = `a${randomBytes(6).toString("hex")}`;
const B = `b${randomBytes(6).toString("hex")}`;
const password = (who: string) => `${who}-${randomBytes(12).toString("hex")}`;
const PASSWORDS = { [A]: password(A), [B]: password(B), collector: password("collector"), auditReader: password("audit") };

interface Violation {
  name?: string;
  operation?: string;
  subject?: string;
}

describe("NATS isolation: an agent's credential publishes its own reports and receives only its own replies", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let sql: pg.Client;
  let spy: NatsConnection;
  let collectorSide: NatsConnection;
  const agents: RunningAgent[] = [];

  const userFor = (agentId: string) => `agent-${agentId}`;

  function startAgent(agentId: string): RunningAgent {
    const agent = startAgentProcess(process.execPath, [main, "--nats", nats.url, "--interval", "300ms", "--agent-id", agentId, "--spool-dir", join(dir, `spool-${agentId}`)], {
      env: { ...process.env, NETMAP_NATS_USER: userFor(agentId), NETMAP_NATS_PASSWORD: PASSWORDS[agentId], NETMAP_LOG_LEVEL: "warn" },
    });
    agents.push(agent);
    return agent;
  }

  const storedReports = async (agentId: string) =>
    Number((await sql.query("SELECT count(*) AS n FROM report_samples JOIN hosts ON hosts.id = report_samples.host_id WHERE hosts.agent_id = $1", [agentId])).rows[0].n);

  /** The server's answer to a subscription: the violation it reports, or "allowed" when none comes. */
  async function subscribeAs(nc: NatsConnection, subject: string): Promise<Violation | "allowed"> {
    const sub = nc.subscribe(subject);
    await nc.flush();
    const outcome = await Promise.race([sub.closed, new Promise<"allowed">((resolve) => setTimeout(() => resolve("allowed"), 1_000))]);
    if (outcome === "allowed") sub.unsubscribe();
    const { name, operation, subject: on } = (outcome ?? {}) as Violation;
    return outcome === "allowed" ? outcome : { name, operation, subject: on };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-nats-isolation-"));
    const port = await freePort();
    const q = JSON.stringify;
    const configFile = join(dir, "nats-server.conf");
    writeFileSync(configFile, [
      `listen: "127.0.0.1:${port}"`,
      "jetstream {}",
      authorization([A, B], [
        { login: `user: ${q(userFor(A))}, password: ${q(PASSWORDS[A])}`, permissions: `AGENT_${A}` },
        { login: `user: ${q(userFor(B))}, password: ${q(PASSWORDS[B])}`, permissions: `AGENT_${B}` },
        { login: `user: "netmap-collector", password: ${q(PASSWORDS.collector)}`, permissions: "COLLECTOR" },
        { login: `user: "audit-reader", password: ${q(PASSWORDS.auditReader)}`, permissions: "AUDIT_READER" },
      ], ['AUDIT_READER = { subscribe = { allow = ["netmap.v1.audit.>"] } }']),
      "",
    ].join("\n"));
    nats = await startNatsServer({ configFile, port });
    const collectorUrl = `nats://netmap-collector:${PASSWORDS.collector}@127.0.0.1:${port}`;

    // A stream as an older collector left it, without limits: the collector's block must let it update that too.
    collectorSide = await connect({ servers: nats.url, user: "netmap-collector", pass: PASSWORDS.collector, inboxPrefix: COLLECTOR_INBOX_PREFIX });
    await (await jetstreamManager(collectorSide)).streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });

    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    collector = await startTestCollector({ natsUrl: collectorUrl, databaseUrl: database.url });
    spy = await connect({ servers: nats.url, user: userFor(A), pass: PASSWORDS[A], inboxPrefix: agentInboxPrefix(A), reconnect: false });
  });

  after(async () => {
    await Promise.all(agents.map(stopAgent));
    await spy?.close();
    await collectorSide?.close();
    await collector?.stop();
    await sql?.end();
    await database?.drop();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is denied every subscription where another agent's reports or the collector's replies pass", async () => {
    const denied = [
      REPORT_SUBJECTS,
      reportSubject(B),
      "_INBOX.>",
      `${COLLECTOR_INBOX_PREFIX}.>`,
      `${agentInboxPrefix(B)}.>`,
      "_INBOX_netmap.>",
      "$JS.>",
      "$JS.ACK.>",
      `${AUDIT_SUBJECT_PREFIX}.>`,
      ">",
    ];
    for (const subject of denied) {
      assert.deepEqual(await subscribeAs(spy, subject), { name: "PermissionViolationError", operation: "subscription", subject }, subject);
    }
    assert.equal(await subscribeAs(spy, `${agentInboxPrefix(A)}.>`), "allowed");
    assert.ok(!spy.isClosed(), "a denied subscription is refused, the connection stays");
  });

  // What the spy's one permitted subscription receives, across the next two tests.
  const seen: Msg[] = [];

  it("receives nothing on its own inbox while another agent publishes and the collector stores those reports", async () => {
    spy.subscribe(`${agentInboxPrefix(A)}.>`, { callback: (_error, msg) => void seen.push(msg) });
    await spy.flush();
    const b = startAgent(B);
    await eventually(async () => (await storedReports(B)) >= 3, withLog("3 reports of agent B stored", b.stderr), 30_000);
    await spy.flush();
    assert.deepEqual(seen.map((msg) => msg.subject), []);
  });

  it("lets both agents' reports through to the collector, which stores them under the example's blocks", async () => {
    const a = startAgent(A);
    await eventually(async () => (await storedReports(A)) >= 2, withLog("2 reports of agent A stored", a.stderr), 30_000);
    assert.ok((await storedReports(B)) >= 3);
    // The real agent A takes the inbox the spy listened on: all that arrived there is JetStream's acks of A's own reports.
    assert.ok(seen.length >= 2, `${seen.length} acks seen`);
    for (const msg of seen) assert.deepEqual(Object.keys(msg.json<object>()).sort(), ["seq", "stream"], msg.string());
    // Neither agent was refused anything on the way: no warning, no permission error.
    for (const agent of agents) assert.doesNotMatch(agent.stderr(), /"level":(40|50)|Permissions Violation/i, agent.stderr());
    assert.deepEqual(collector.logs.filter((line) => line.level >= 40).map((line) => line.msg), []);
    const info = await eventually(async () => {
      const stream = await collector.get("/api/v1/hosts");
      return stream.status === 200 && stream.body.hosts.length === 2 && stream.body;
    }, "both hosts listed");
    assert.equal(info.hosts.length, 2);
    // The stream an older collector had left without limits was brought up to them (STREAM.UPDATE is in the block).
    const limits = (await jetstreamManager(collectorSide)).streams.info(REPORTS_STREAM);
    assert.equal((await limits).config.max_msgs_per_subject, DEFAULT_STREAM_LIMITS.reports.maxMsgsPerAgent);
  });

  it("lets the collector publish its audit events under the example's block", async () => {
    const reader = await connect({ servers: nats.url, user: "audit-reader", pass: PASSWORDS.auditReader });
    try {
      const events: string[] = [];
      reader.subscribe(`${AUDIT_SUBJECT_PREFIX}.>`, { callback: (_error, msg) => void events.push(msg.subject) });
      await reader.flush();
      const silence = await collector.fetch("/api/v1/silences", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ matchers: [{ name: "host", value: "x", isRegex: false }], durationSeconds: 60, comment: "audit" }),
      });
      assert.equal(silence.status, 201);
      await eventually(() => events.includes(`${AUDIT_SUBJECT_PREFIX}.silence_add`), "the audit event on NATS");
    } finally {
      await reader.close();
    }
  });
});
