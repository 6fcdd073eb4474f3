// The single binary publishing over mutual TLS with nkey authentication, read
// from a YAML config file (the three modules agent/build.ts defers: node:tls,
// @nats-io/nkeys, yaml), to a nats-server enforcing the permission blocks of
// deploy/nats/agent-permissions.conf, taken from the file as they are (test/helpers/nats-permissions.ts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, statSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { decodeRecord } from "../../agent/src/spool.ts";
import { agentInboxPrefix, COLLECTOR_INBOX_PREFIX, REPORT_SUBJECTS, REPORTS_STREAM, reportSubject } from "../../proto/src/subjects.ts";
import { serverIdentityCheck } from "../../agent/src/nats-auth.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { authorization } from "../helpers/nats-permissions.ts";
import { eventually, withLog } from "../helpers/wait.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const AGENT_ID = randomBytes(8).toString("hex");
const OTHER_AGENT_ID = randomBytes(8).toString("hex");
const COLLECTOR_USER = "netmap-collector";
const COLLECTOR_PASSWORD = randomBytes(12).toString("hex");

const openssl = (dir: string, args: string[]) => run("/usr/bin/openssl", args, { cwd: dir });

/** A CA, a server certificate for 127.0.0.1, and client certificates for the agent and the collector. */
async function makeCertificates(dir: string): Promise<void> {
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, ["req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=netmap test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  const issue = async (name: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    await openssl(dir, ["req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
    await openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", `0x${randomBytes(8).toString("hex")}`,
      "-days", "2", "-out", `${name}.pem`, "-extfile", `${name}.ext`]);
  };
  // For the IP only: @nats-io/transport-node 3.4 passes no servername for a server given by IP, so Node
  // checks the certificate against "localhost" (nats-io/nats.js#303); the agent checks the IP instead.
  await issue("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n");
  await issue("agent", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
  await issue("collector", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
}

interface BinaryAgent extends RunningAgent {
  spoolDir: string;
}

interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string; type?: string; code?: string };
  [key: string]: unknown;
}

const spooledReports = (agent: BinaryAgent) => readdirSync(join(agent.spoolDir, "reports")).filter((name) => name.endsWith(".report")).length;

const logLines = (agent: RunningAgent): LogLine[] =>
  agent.stderr().split("\n").filter(Boolean).map((line) => {
    try {
      return JSON.parse(line) as LogLine;
    } catch {
      return { level: 0, msg: line };
    }
  });

describe("netmap-agent single binary over mutual TLS and nkey, with the example permissions", () => {
  let certs: string;
  let binDir: string;
  let binary: string;
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  // The test's own clients connect by IP too, so they check the certificate as the agent does.
  let tls: { ca: string; cert: string; key: string; checkServerIdentity: ReturnType<typeof serverIdentityCheck> };
  const agents: BinaryAgent[] = [];

  /** Writes an agent.yaml beside the binary and runs it in loop mode with it. */
  function startAgent(agentId: string): BinaryAgent {
    const spoolDir = join(binDir, `spool-${agentId}`);
    const configFile = join(binDir, `agent-${agentId}.yaml`);
    const q = JSON.stringify;
    writeFileSync(configFile, [
      "# netmap-agent test configuration",
      "nats:",
      `  url: ${q(nats.url)}`,
      `  nkey: ${q(join(certs, "agent.nk"))}`,
      "  tls:",
      `    ca: ${q(join(certs, "ca.pem"))}`,
      `    cert: ${q(join(certs, "agent.pem"))}`,
      `    key: ${q(join(certs, "agent.key"))}`,
      `agent_id: ${q(agentId)}`,
      "interval: 200ms",
      `spool_dir: ${q(spoolDir)}`,
      "",
    ].join("\n"));
    const agent = { ...startAgentProcess(binary, ["--config", configFile], { cwd: binDir, env: { PATH: "/usr/bin:/bin", NETMAP_LOG_LEVEL: "warn" } }), spoolDir };
    agents.push(agent);
    return agent;
  }

  /** Reports the stream holds on the agent's subject. */
  async function stored(agentId: string): Promise<number> {
    const subject = reportSubject(agentId);
    const info = await jsm.streams.info(REPORTS_STREAM, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  before(async () => {
    await run(process.execPath, [join(root, "agent", "build.ts"), "x64"], { cwd: root });

    certs = mkdtempSync(join(tmpdir(), "netmap-secure-nats-"));
    await makeCertificates(certs);
    const nkey = createUser();
    writeFileSync(join(certs, "agent.nk"), `${new TextDecoder().decode(nkey.getSeed())}\n`, { mode: 0o600 });
    assert.equal(statSync(join(certs, "agent.nk")).mode & 0o777, 0o600);

    const port = await freePort();
    const configFile = join(certs, "nats-server.conf");
    const q = JSON.stringify;
    writeFileSync(configFile, [
      `listen: "127.0.0.1:${port}"`,
      // The store is the helper's (-sd, in a temp dir): a store_dir here as well is "Duplicate 'store_dir'" to nats-server 2.9.
      "jetstream {}",
      "tls {",
      `  cert_file: ${q(join(certs, "server.pem"))}`,
      `  key_file: ${q(join(certs, "server.key"))}`,
      `  ca_file: ${q(join(certs, "ca.pem"))}`,
      "  verify: true",
      // The binary runs --jitless: give its handshake time on a loaded machine.
      "  timeout: 5",
      "}",
      authorization([AGENT_ID], [
        { login: `nkey: ${q(nkey.getPublicKey())}`, permissions: `AGENT_${AGENT_ID}` },
        { login: `user: ${q(COLLECTOR_USER)}, password: ${q(COLLECTOR_PASSWORD)}`, permissions: "COLLECTOR" },
      ]),
      "",
    ].join("\n"));
    nats = await startNatsServer({ configFile, port });

    tls = {
      ca: readFileSync(join(certs, "ca.pem"), "utf8"),
      cert: readFileSync(join(certs, "collector.pem"), "utf8"),
      key: readFileSync(join(certs, "collector.key"), "utf8"),
      checkServerIdentity: serverIdentityCheck([nats.url]),
    };
    nc = await connect({ servers: nats.url, user: COLLECTOR_USER, pass: COLLECTOR_PASSWORD, tls, inboxPrefix: COLLECTOR_INBOX_PREFIX });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });

    binDir = mkdtempSync(join(tmpdir(), "netmap-secure-agent-"));
    binary = join(binDir, "netmap-agent");
    copyFileSync(join(root, "dist", "netmap-agent-linux-x64"), binary);
    assert.deepEqual(readdirSync(binDir), ["netmap-agent"]);
  });

  after(async () => {
    await Promise.all(agents.map(stopAgent));
    await nc?.close();
    await nats?.close();
    for (const dir of [certs, binDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a client without a certificate and one without credentials", async () => {
    // No client certificate: the server ends the TLS handshake (verify: true).
    const { cert: _cert, key: _key, ...withoutClientCertificate } = tls;
    await assert.rejects(connect({ servers: nats.url, user: COLLECTOR_USER, pass: COLLECTOR_PASSWORD, tls: withoutClientCertificate, reconnect: false }));
    await assert.rejects(connect({ servers: nats.url, tls, reconnect: false }), { name: "AuthorizationError" });
  });

  it("gives the agent's nkey nothing beyond publishing on its own report subject", async () => {
    const agent = await connect({
      servers: nats.url,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(join(certs, "agent.nk"), "utf8").trim())),
      tls: { ...tls, cert: readFileSync(join(certs, "agent.pem"), "utf8"), key: readFileSync(join(certs, "agent.key"), "utf8") },
      inboxPrefix: agentInboxPrefix(AGENT_ID),
      reconnect: false,
    });
    try {
      const violation = (error: unknown, operation: string, subject: string) => {
        const { name, operation: op, subject: on } = error as { name?: string; operation?: string; subject?: string };
        assert.deepEqual({ name, operation: op, subject: on }, { name: "PermissionViolationError", operation, subject }, String(error));
        return true;
      };
      // Neither JetStream's API (so no stream or consumer of its own) nor another agent's subject, nor reading reports.
      await assert.rejects(agent.request("$JS.API.INFO", "", { timeout: 5_000 }), (error: Error) => violation(error.cause, "publish", "$JS.API.INFO"));
      const other = reportSubject(OTHER_AGENT_ID);
      await assert.rejects(agent.request(other, "", { timeout: 5_000 }), (error: Error) => violation(error.cause, "publish", other));
      violation(await agent.subscribe("netmap.v1.>").closed, "subscription", "netmap.v1.>");
      assert.ok(!agent.isClosed());
    } finally {
      await agent.close();
    }
  });

  it("publishes reports that the collector user reads back and acknowledges", async () => {
    const agent = startAgent(AGENT_ID);
    await eventually(async () => (await stored(AGENT_ID)) >= 2, withLog("2 reports stored", agent.stderr), 30_000);

    // As the collector does: a durable pull consumer with explicit acks ($JS.ACK.NETMAP_REPORTS.>).
    await jsm.consumers.add(REPORTS_STREAM, {
      durable_name: "secure-test",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: reportSubject(AGENT_ID),
    });
    const consumer = await jetstream(nc).consumers.get(REPORTS_STREAM, "secure-test");
    const reports: HostReport[] = [];
    while (reports.length < 2) {
      const msg = await consumer.next({ expires: 5_000 });
      assert.ok(msg, `only ${reports.length} reports read back`);
      assert.equal(msg.subject, reportSubject(AGENT_ID));
      reports.push(HostReport.decode(msg.data));
      assert.equal(await msg.ackAck(), true, "ack not confirmed");
    }
    for (const report of reports) {
      assert.equal(report.agentId, AGENT_ID);
      assert.equal(report.hostname, hostname());
    }
    assert.ok(reports[1]!.seq > reports[0]!.seq, `seq ${reports[0]!.seq} then ${reports[1]!.seq}`);
    assert.equal((await jsm.consumers.info(REPORTS_STREAM, "secure-test")).num_ack_pending, 0);

    // Every report went out (the first, collected before the connection, through the spool): nothing
    // waits in the spool, nothing was logged at warn or above.
    await eventually(() => spooledReports(agent) === 0, withLog("an empty spool", agent.stderr), 10_000);
    assert.deepEqual(logLines(agent).filter((line) => line.level >= 40), []);
    assert.equal(await stopAgent(agent), 0, agent.stderr());
  });

  it("is denied another agent's subject, keeps those reports in its spool and keeps running", async () => {
    const agent = startAgent(OTHER_AGENT_ID);
    const spooled = () => spooledReports(agent);
    // Several cycles at 200ms, each one denied.
    await eventually(() => spooled() >= 4, withLog("4 reports spooled", agent.stderr), 30_000);
    assert.equal(agent.child.exitCode, null, `agent exited:\n${agent.stderr()}`);
    assert.equal(agent.child.signalCode, null, `agent killed:\n${agent.stderr()}`);
    assert.equal(await stored(OTHER_AGENT_ID), 0);

    // Both denials are logged as such, at warn: each once as the server's error (it repeats them every cycle, the
    // inbox under a new random name each time), and once as the reason reports are spooled, with a hint at the permissions.
    const lines = logLines(agent);
    const denied = `Permissions Violation for Publish to "${reportSubject(OTHER_AGENT_ID)}"`;
    const inboxDenied = `Permissions Violation for Subscription to "${agentInboxPrefix(OTHER_AGENT_ID)}.`;
    const serverErrors = lines.filter((line) => line.level === 40 && line.msg === "NATS error").map((line) => String(line.err?.message));
    assert.equal(serverErrors.filter((message) => message === denied).length, 1, `the publish denial not warned about once:\n${agent.stderr()}`);
    assert.equal(serverErrors.filter((message) => message.startsWith(inboxDenied)).length, 1, `the inbox denial not warned about once:\n${agent.stderr()}`);
    assert.equal(serverErrors.length, 2, agent.stderr());
    const spooling = lines.filter((line) => line.level === 40 && line.msg === "cannot publish reports; spooling them");
    assert.equal(spooling.length, 1, agent.stderr());
    assert.match(String(spooling[0]!.err?.message), /^Permissions Violation for (Publish|Subscription)/, `not spooled because of a denial:\n${agent.stderr()}`);
    assert.match(String(spooling[0]!.hint), /permissions.*agent.id|agent.id.*permissions/);
    assert.deepEqual(lines.filter((line) => line.level >= 50), [], "errors logged");
    assert.equal(await stopAgent(agent), 0, agent.stderr());
    // Still there after a clean stop: they wait for the next run (and a fixed permission).
    assert.ok(spooled() >= 4, `${spooled()} reports left in the spool`);
    const reportsDir = join(agent.spoolDir, "reports");
    const kept = readdirSync(reportsDir).filter((name) => name.endsWith(".report")).sort().map((name) => {
      const payload = decodeRecord(readFileSync(join(reportsDir, name)));
      assert.ok(typeof payload !== "string", `${name}: ${payload}`);
      return HostReport.decode(payload);
    });
    assert.deepEqual(kept.map((report) => report.agentId), kept.map(() => OTHER_AGENT_ID));
    assert.deepEqual(kept.map((report) => report.seq), kept.map((_, i) => kept[0]!.seq + i), "spooled in order, none missing");
    assert.equal(await stored(OTHER_AGENT_ID), 0);
  });
});
