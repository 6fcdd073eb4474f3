// The hostile-agent suite: one agent's real NATS credential in an attacker's hands,
// against a real nats-server enforcing the shipped permissions, the real collector
// and PostgreSQL, a real agent beside it, the real `netmap` CLI and OpenSSH's own
// config parser. The attacker sends what broke NetMap before (names carrying
// newlines and ssh directives, NULs, integers past their columns, 100,000
// interfaces, another host's name, address and MAC); the fleet must not notice.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { agentInboxPrefix, reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { authorization } from "../helpers/nats-permissions.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { runProgram } from "../helpers/run.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const AGENT_MAIN = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const NETMAP_MAIN = new URL("../../collector/src/main.ts", import.meta.url).pathname;
const EVIL = `evil${randomBytes(5).toString("hex")}`;
const GOOD = `good${randomBytes(5).toString("hex")}`;
const secret = () => randomBytes(12).toString("hex");
const PASSWORDS = { [EVIL]: secret(), [GOOD]: secret(), collector: secret() };

/** What a person placed: web01 behind the bastion gw1. */
const TOPOLOGY = `clients:
  - name: acme
    sites:
      - name: dc1
        bastion: gw1
        hosts:
          - name: gw1
            address: 203.0.113.10
          - name: web01
            address: 198.51.100.5
`;
const WEB01_MAC = "52:54:00:aa:bb:01";
/** Where the attacker would like the operator's ssh to go. */
const ATTACKER_ADDRESS = "203.0.113.66";
/** Any control character but the newline and tab a table legitimately holds. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("a hostile agent with a real credential cannot blind the fleet, reach the operator or read other hosts", () => {
  let dir: string;
  let marker: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let sql: pg.Client;
  let evil: NatsConnection;
  let good: RunningAgent;
  let seq = 0;

  const netmap = (...args: string[]) =>
    runProgram(process.execPath, [NETMAP_MAIN, ...args], {
      env: { PATH: process.env.PATH!, HOME: dir, XDG_STATE_HOME: dir, NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token },
    });

  /** Publishes bytes on the attacker's own subject, as JetStream would take a report; returns the server's answer. */
  async function publishAsEvil(bytes: Uint8Array): Promise<string> {
    const h = headers();
    h.set("Nats-Msg-Id", reportMessageId(EVIL, "b00t", ++seq));
    const reply = await evil.request(reportSubject(EVIL), bytes, { headers: h, timeout: 5_000 });
    return reply.string();
  }

  /** A report that is fine but for what `overrides` puts in it, encoded without any check. */
  const forged = (overrides: Parameters<typeof sampleReport>[0]) =>
    HostReport.encode(sampleReport({ agentId: EVIL, hostname: "evil-box", bootId: "b00t", seq: seq + 1, ...overrides })).finish();

  const count = async (query: string, params: unknown[] = []) => Number((await sql.query(query, params)).rows[0].n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-hostile-"));
    marker = join(dir, "pwned");
    const port = await freePort();
    const q = JSON.stringify;
    const configFile = join(dir, "nats-server.conf");
    writeFileSync(configFile, [
      `listen: "127.0.0.1:${port}"`,
      "jetstream {}",
      authorization([EVIL, GOOD], [
        { login: `user: ${q(`agent-${EVIL}`)}, password: ${q(PASSWORDS[EVIL])}`, permissions: `AGENT_${EVIL}` },
        { login: `user: ${q(`agent-${GOOD}`)}, password: ${q(PASSWORDS[GOOD])}`, permissions: `AGENT_${GOOD}` },
        { login: `user: "netmap-collector", password: ${q(PASSWORDS.collector)}`, permissions: "COLLECTOR" },
      ]),
      "",
    ].join("\n"));
    nats = await startNatsServer({ configFile, port });
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    collector = await startTestCollector({ natsUrl: `nats://netmap-collector:${PASSWORDS.collector}@127.0.0.1:${port}`, databaseUrl: database.url });
    const topologyFile = join(dir, "topology.yaml");
    writeFileSync(topologyFile, TOPOLOGY);
    const imported = await netmap("import", topologyFile);
    assert.equal(imported.code, 0, imported.stderr);
    // web01's MAC is known, as a Proxmox poll or an earlier report would have left it.
    await sql.query(`INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual)
                     SELECT id, 'eth0', $1, '{198.51.100.5/24}', true, false FROM hosts WHERE name = 'web01'`, [WEB01_MAC]);

    good = startAgentProcess(process.execPath, [AGENT_MAIN, "--nats", nats.url, "--interval", "300ms", "--agent-id", GOOD, "--spool-dir", join(dir, "spool")], {
      env: { ...process.env, NETMAP_NATS_USER: `agent-${GOOD}`, NETMAP_NATS_PASSWORD: PASSWORDS[GOOD], NETMAP_LOG_LEVEL: "warn" },
    });
    evil = await connect({ servers: nats.url, user: `agent-${EVIL}`, pass: PASSWORDS[EVIL], inboxPrefix: agentInboxPrefix(EVIL) });
  });

  after(async () => {
    await evil?.close();
    if (good) await stopAgent(good);
    await collector?.stop();
    await sql?.end();
    await database?.drop();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("every poisoned report is rejected with its reason while the honest agent's reports are all stored", async () => {
    await eventually(async () => (await count("SELECT count(*) AS n FROM report_samples")) >= 2, withLog("the honest agent's first reports to be stored", good.stderr));
    const poison: Array<[string, Uint8Array, RegExp]> = [
      ["a hostname carrying ssh directives", forged({ hostname: `zz\nMatch exec "touch ${marker}"\nHost zz` }), /hostname/],
      ["a NUL in the hostname", forged({ hostname: "web\u000001" }), /hostname/],
      ["a NUL in a process name", forged({ listeners: [{ protocol: 1, address: "0.0.0.0", port: 22, pid: 1, process: "ss\u0000hd" }] }), /process/],
      ["a pid past a PostgreSQL integer", forged({ listeners: [{ protocol: 1, address: "0.0.0.0", port: 22, pid: 4294967295, process: "x" }] }), /pid/],
      ["a port past 65535", forged({ listeners: [{ protocol: 1, address: "0.0.0.0", port: 70000, process: "x" }] }), /port/],
      ["100,000 interfaces", forged({ interfaces: Array.from({ length: 100_000 }, () => ({})) }), /interfaces/],
      ["bytes that are no report at all", new Uint8Array([0xff, 0xff, 0xff, 0xff]), /./],
    ];
    for (const [what, bytes] of poison) assert.match(await publishAsEvil(bytes), /"stream":"NETMAP_REPORTS"/, `${what}: the stream takes it`);

    const rejected = await eventually(async () => {
      const { rows } = await sql.query<{ reason: string }>("SELECT reason FROM rejected_reports ORDER BY id");
      return rows.length >= poison.length ? rows.map((r) => r.reason) : undefined;
    }, "each poisoned report to be rejected");
    assert.equal(rejected.length, poison.length);
    poison.forEach(([what, , reason], i) => assert.match(rejected[i]!, reason, what));
    assert.equal(await count("SELECT count(*) AS n FROM hosts WHERE agent_id = $1", [EVIL]), 0, "no host was made of a rejected report");

    // Ingest goes on: the honest agent's next reports are stored, and none of its reports is missing.
    const before = await count("SELECT count(*) AS n FROM report_samples");
    await eventually(async () => (await count("SELECT count(*) AS n FROM report_samples")) >= before + 3, "reports published after the poison to be stored");
    const { rows } = await sql.query<{ boots: number; n: number; span: number }>(`
      SELECT count(DISTINCT s.boot)::int AS boots, count(*)::int AS n, (max(s.seq) - min(s.seq) + 1)::int AS span
      FROM report_samples s JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = $1`, [GOOD]);
    assert.equal(rows[0]!.boots, 1);
    assert.ok(rows[0]!.n >= 5, `${rows[0]!.n} reports of the honest agent stored`);
    assert.equal(rows[0]!.n, rows[0]!.span, "every report the honest agent sent between its first and last stored one is stored");
  });

  test("a report naming another host's name, address and MAC only claims it: SSH never goes where the agent says", async () => {
    const claim = sampleReport({
      agentId: EVIL, hostname: "web01", bootId: "b00t", seq: seq + 1,
      interfaces: [{ name: "eth0", mac: WEB01_MAC, addresses: [{ address: ATTACKER_ADDRESS, prefixLength: 24 }, { address: "198.51.100.5", prefixLength: 24 }], up: true, virtual: false }],
    });
    await publishAsEvil(HostReport.encode(claim).finish());
    await eventually(async () => (await count("SELECT count(*) AS n FROM hosts WHERE agent_id = $1", [EVIL])) > 0, "the attacker's host to be stored");
    assert.equal((await sql.query("SELECT agent_id FROM hosts WHERE name = 'web01'")).rows[0].agent_id, null, "web01 was not taken");

    const route = await netmap("route", "acme/dc1/web01");
    assert.equal(route.code, 0, route.stderr);
    assert.doesNotMatch(route.stdout, new RegExp(ATTACKER_ADDRESS.replaceAll(".", "\\.")));
    assert.match(route.stdout, /198\.51\.100\.5/);
    const hosts = await netmap("hosts");
    assert.match(hosts.stdout, /claims acme\/dc1\/web01, unconfirmed/);

    // What OpenSSH itself makes of the generated config, alias by alias: never the attacker's address, never a command run.
    const generated = await netmap("ssh-config");
    assert.equal(generated.code, 0, generated.stderr);
    const configFile = join(dir, "ssh_config");
    writeFileSync(configFile, generated.stdout);
    const aliases = [...generated.stdout.matchAll(/^Host (\S+)/gm)].map((m) => m[1]!);
    assert.ok(aliases.includes("acme.dc1.web01"), generated.stdout);
    for (const alias of [...aliases, "zz", "evil-box", "web01"]) {
      const resolved = spawnSync("ssh", ["-G", "-F", configFile, alias], { encoding: "utf8" });
      assert.equal(resolved.status, 0, resolved.stderr);
      assert.doesNotMatch(resolved.stdout, new RegExp(`^hostname ${ATTACKER_ADDRESS.replaceAll(".", "\\.")}$`, "m"), alias);
    }
    assert.equal(existsSync(marker), false, "ssh -G on the generated config ran a command");
  });

  test("the CLI prints no raw control character, whatever the agents said", async () => {
    for (const args of [["hosts"], ["hosts", "--json"], ["alerts"], ["export"], ["ssh-config"], ["graph", "--format", "dot"], ["route", "acme/dc1/web01"]]) {
      const run = await netmap(...args);
      assert.equal(run.code, 0, `netmap ${args.join(" ")}: ${run.stderr}`);
      assert.doesNotMatch(run.stdout + run.stderr, RAW_CONTROL, `netmap ${args.join(" ")}`);
    }
  });

  test("the attacker's credential reads nothing of the fleet and cannot speak for another agent", async () => {
    const spy = evil.subscribe(">");
    await evil.flush();
    const denied = await Promise.race([spy.closed, new Promise((resolve) => setTimeout(() => resolve("allowed"), 1_000))]);
    assert.equal((denied as Error | undefined)?.name, "PermissionViolationError", "subscribing to > was refused");

    const before = await count("SELECT count(*) AS n FROM report_samples s JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = $1", [GOOD]);
    const h = headers();
    h.set("Nats-Msg-Id", reportMessageId(GOOD, "b00t", 999_999));
    const impersonation = evil.request(reportSubject(GOOD), HostReport.encode(sampleReport({ agentId: GOOD, bootId: "b00t", seq: 999_999 })).finish(), { headers: h, timeout: 2_000 });
    await assert.rejects(impersonation, "publishing on another agent's subject gets no answer from the stream");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await count("SELECT count(*) AS n FROM report_samples s JOIN host_boots b ON b.id = s.boot WHERE b.boot_id = 'b00t' AND s.seq = 999999"), 0);
    assert.ok(await count("SELECT count(*) AS n FROM report_samples s JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = $1", [GOOD]) >= before);
  });
});
