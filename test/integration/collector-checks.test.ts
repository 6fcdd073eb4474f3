// Checks given per host or label in netmap.yaml reach the agents they select over
// NATS, under the permission blocks of deploy/nats/agent-permissions.conf as
// shipped: a real nats-server, the real collector and two real agents (from
// source), each with its own NATS user. Each agent runs the collector's checks
// beside its own agent.yaml's (its own win on a name), a label set on a host
// brings it that label's checks, and one agent's credential cannot ask for
// another's.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { agentInboxPrefix, checksSubject } from "../../proto/src/subjects.ts";
import type { HostDetail } from "../../collector/src/http/api-types.ts";
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
const PASSWORDS = { [A]: password(A), [B]: password(B), collector: password("collector") };
const userFor = (agentId: string) => `agent-${agentId}`;

describe("checks from netmap.yaml, per host and label, run by the agents they select", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let sql: pg.Client;
  let http: HttpServer;
  let tcp: TcpServer;
  let spy: NatsConnection;
  const agents: Record<string, RunningAgent> = {};

  const listen = async (server: HttpServer | TcpServer) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  };

  function startAgent(agentId: string, ownChecks: string) {
    const configFile = join(dir, `agent-${agentId}.yaml`);
    writeFileSync(configFile, `checks_refresh: 1s\nchecks:\n${ownChecks}`);
    agents[agentId] = startAgentProcess(process.execPath, [main, "--config", configFile, "--nats", nats.url, "--interval", "500ms", "--agent-id", agentId, "--spool-dir", join(dir, `spool-${agentId}`)], {
      env: { ...process.env, NETMAP_NATS_USER: userFor(agentId), NETMAP_NATS_PASSWORD: PASSWORDS[agentId], NETMAP_LOG_LEVEL: "info" },
    });
  }

  /** The checks of the agent's latest stored report, by name: success, and the HTTP status of an http check. */
  async function checksOf(agentId: string): Promise<Record<string, { success: boolean; httpStatus?: number | null }> | undefined> {
    const { rows } = await sql.query("SELECT id FROM hosts WHERE agent_id = $1", [agentId]);
    if (!rows[0]) return undefined;
    const { status, body } = await collector.get(`/api/v1/hosts/${rows[0].id}`);
    assert.equal(status, 200);
    return Object.fromEntries((body as { host: HostDetail }).host.checks.map((c) => [c.name, { success: c.success, ...(c.type === "http" && { httpStatus: c.httpStatus }) }]));
  }

  const expectChecks = (agentId: string, expected: Record<string, { success: boolean; httpStatus?: number }>, what: string) => {
    let checks: Awaited<ReturnType<typeof checksOf>>;
    return eventually(async () => {
      checks = await checksOf(agentId);
      try {
        assert.deepEqual(checks, expected);
        return true;
      } catch {
        return false;
      }
    }, withLog(`${what}: ${agentId}'s checks`, () => `${JSON.stringify(expected)}, last ${JSON.stringify(checks)}; agent log:\n${agents[agentId]!.stderr().slice(-3000)}`), 45_000);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-collector-checks-"));
    http = createHttpServer((_request, response) => response.writeHead(204).end());
    tcp = createTcpServer((socket) => socket.destroy());
    const httpPort = await listen(http);
    const tcpPort = await listen(tcp);
    const closedPort = await freePort();

    const port = await freePort();
    const q = JSON.stringify;
    const natsConfig = join(dir, "nats-server.conf");
    writeFileSync(natsConfig, [
      `listen: "127.0.0.1:${port}"`,
      "jetstream {}",
      authorization([A, B], [
        { login: `user: ${q(userFor(A))}, password: ${q(PASSWORDS[A])}`, permissions: `AGENT_${A}` },
        { login: `user: ${q(userFor(B))}, password: ${q(PASSWORDS[B])}`, permissions: `AGENT_${B}` },
        { login: `user: "netmap-collector", password: ${q(PASSWORDS.collector)}`, permissions: "COLLECTOR" },
      ]),
      "",
    ].join("\n"));
    nats = await startNatsServer({ configFile: natsConfig, port });

    const netmapYaml = join(dir, "netmap.yaml");
    writeFileSync(netmapYaml, [
      "checks:",
      `  - { name: fleet, type: tcp, address: "127.0.0.1:${tcpPort}", interval: 1s }`,
      `  - { name: web, type: http, url: "http://127.0.0.1:${httpPort}/health", status: 204, interval: 1s, match: { label: "role=web" } }`,
      `  - { name: shared, type: tcp, address: "127.0.0.1:${closedPort}", interval: 1s, timeout: 500ms }`,
      "",
    ].join("\n"));
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    collector = await startTestCollector({
      natsUrl: `nats://netmap-collector:${PASSWORDS.collector}@127.0.0.1:${port}`, databaseUrl: database.url, env: { NETMAP_CONFIG: netmapYaml },
    });
    spy = await connect({ servers: nats.url, user: userFor(A), pass: PASSWORDS[A], inboxPrefix: agentInboxPrefix(A), reconnect: false });

    startAgent(A, `  - { name: own, type: tcp, address: "127.0.0.1:${tcpPort}", interval: 1s }\n`);
    // B's own `shared` answers; the collector's of that name (a closed port) must not replace it.
    startAgent(B, `  - { name: shared, type: tcp, address: "127.0.0.1:${tcpPort}", interval: 1s }\n`);
  });

  after(async () => {
    await Promise.all(Object.values(agents).map(stopAgent));
    await spy?.close();
    await collector?.stop();
    await sql?.end();
    await database?.drop();
    await nats?.close();
    http?.close();
    tcp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives every agent the unmatched checks beside its own, its own winning on a name", async () => {
    await expectChecks(A, { own: { success: true }, fleet: { success: true }, shared: { success: false } }, "unmatched checks");
    await expectChecks(B, { shared: { success: true }, fleet: { success: true } }, "unmatched checks, B's own shared");
    assert.match(agents[B]!.stderr(), /agent.yaml has checks of these names; the collector's are not run/);
  });

  it("gives a host the checks of a label once it has the label, and takes them back when it loses it", async () => {
    // The labels a topology import gives a placed host (docs/topology.md).
    await sql.query(`UPDATE hosts SET labels = '{"role":"web"}' WHERE agent_id = $1`, [A]);
    await expectChecks(A, { own: { success: true }, fleet: { success: true }, shared: { success: false }, web: { success: true, httpStatus: 204 } }, "role=web");
    const b = await checksOf(B);
    assert.ok(b && !("web" in b), JSON.stringify(b));

    await sql.query(`UPDATE hosts SET labels = '{}' WHERE agent_id = $1`, [A]);
    await expectChecks(A, { own: { success: true }, fleet: { success: true }, shared: { success: false } }, "label removed");
  });

  it("does not let one agent's credential ask for another agent's checks", async () => {
    await assert.rejects(spy.request(checksSubject(B), new Uint8Array(), { timeout: 2_000 }));
    // Its own, yes: the collector answers on its inbox through allow_responses.
    const own = JSON.parse(new TextDecoder().decode((await spy.request(checksSubject(A), new Uint8Array(), { timeout: 5_000 })).data)) as { checks: Array<{ name: string }> };
    assert.deepEqual(own.checks.map((c) => c.name), ["fleet", "shared"]);
  });

  it("logs no warning on the collector, nor on the agent whose checks do not collide", () => {
    assert.deepEqual(collector.logs.filter((line) => line.level >= 40).map((line) => line.msg), []);
    // A's one warning: the collector's `shared` check fails (a closed port), as it should.
    const warnings = agents[A]!.stderr().split("\n").filter((line) => /"level":(40|50)|Permissions Violation/i.test(line));
    assert.deepEqual(warnings.map((line) => [JSON.parse(line).msg, JSON.parse(line).check]), [["check failed", "shared"]]);
  });
});
