// Per-agent NATS identities minted by the collector, against a real nats-server that includes
// the authorization file the collector writes (and reloads on its SIGHUP): the real agent
// reports with its minted nkey; the same nkey cannot speak for another agent or read
// anything but its own inbox; `netmap agent revoke` makes nats-server refuse it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, headers, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { fromSeed } from "@nats-io/nkeys";
import pg from "pg";
import { HostReport } from "../../proto/src/codec.ts";
import { agentInboxPrefix, checksSubject, RELEASES_DIRECT_GET, reportMessageId, reportSubject, upgradeCommandSubject, upgradeStatusSubject } from "../../proto/src/subjects.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { NETMAP_MAIN } from "../helpers/cli.ts";
import { startMintingCollector } from "../helpers/agent-identities.ts";
import type { TestCollector } from "../helpers/collector.ts";
import type { TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { runProgram } from "../helpers/run.ts";
import { eventually, withLog } from "../helpers/wait.ts";
import { connectAdmin } from "../../collector/src/cli/admin-client.ts";

const AGENT_MAIN = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const TOPOLOGY = "clients:\n  - name: acme\n    sites:\n      - name: dc1\n        hosts:\n          - { name: web1, address: 10.0.0.1 }\n          - { name: web2, address: 10.0.0.2 }\n";

describe("per-agent NATS identities minted by the collector", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let natsUrl: string;
  let authFile: string;
  let agent: RunningAgent | undefined;
  const minted: Record<string, { agentId: string; seed: string; publicKey: string }> = {};
  const env = () => ({ PATH: process.env.PATH!, HOME: dir, XDG_STATE_HOME: dir, NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token });
  const connectAs = (seed: string) => connect({ servers: natsUrl, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), reconnect: false });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-identity-"));
    database = await createTestDatabase();
    ({ nats, collector, natsUrl, authFile } = await startMintingCollector(dir, database.url));
    const admin = connectAdmin(env());
    try {
      await admin.import({ topologyYaml: TOPOLOGY, fileName: "hosts.yaml" });
      for (const host of ["web1", "web2"]) minted[host] = await admin.mintAgentIdentity({ host });
    } finally {
      admin.close();
    }
  });

  after(async () => {
    if (agent) await stopAgent(agent);
    await collector?.stop();
    await database?.drop();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("minting writes the host's public key with its own permissions into the file, never the seed", () => {
    const file = readFileSync(authFile, "utf8");
    const web1 = minted.web1!;
    assert.match(web1.seed, /^SU[A-Z2-7]{56}$/);
    assert.match(web1.agentId, /^h[0-9a-f]{20}$/);
    assert.ok(file.includes(`{ nkey: "${web1.publicKey}", permissions: { publish = { allow = ["${reportSubject(web1.agentId)}", "${checksSubject(web1.agentId)}", "${upgradeStatusSubject(web1.agentId)}", "${RELEASES_DIRECT_GET}"] }, subscribe = { allow = ["${agentInboxPrefix(web1.agentId)}.>", "${upgradeCommandSubject(web1.agentId)}"] } } }`), file);
    assert.ok(!file.includes(web1.seed) && !file.includes(minted.web2!.seed));
  });

  test("the real agent reports with its minted nkey and its reports are stored", async () => {
    const { agentId, seed } = minted.web1!;
    writeFileSync(join(dir, "web1.nk"), `${seed}\n`, { mode: 0o600 });
    agent = startAgentProcess(process.execPath, [AGENT_MAIN, "--nats", natsUrl, "--nkey", join(dir, "web1.nk"), "--agent-id", agentId, "--interval", "300ms", "--spool-dir", join(dir, "spool")], {
      env: { ...process.env, NETMAP_LOG_LEVEL: "warn" },
    });
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      await eventually(
        async () => Number((await sql.query("SELECT count(*) AS n FROM report_samples s JOIN hosts h ON h.id = s.host_id WHERE h.agent_id = $1", [agentId])).rows[0].n) >= 2,
        withLog("2 reports of the agent stored", agent.stderr),
        30_000,
      );
    } finally {
      await sql.end();
    }
    assert.doesNotMatch(agent.stderr(), /Permissions Violation|Authorization Violation/i);
  });

  test("the minted nkey cannot publish as another agent nor read anything but its own inbox", async () => {
    const nc = await connectAs(minted.web1!.seed);
    try {
      for (const subject of [">", "netmap.v1.report.>", `${agentInboxPrefix(minted.web2!.agentId)}.>`, "_INBOX.>", "netmap.v1.audit.>"]) {
        const sub = nc.subscribe(subject);
        await nc.flush();
        const outcome = await Promise.race([sub.closed, new Promise((resolve) => setTimeout(() => resolve("allowed"), 1_000))]);
        assert.equal((outcome as Error | undefined)?.name, "PermissionViolationError", subject);
      }
      const other = minted.web2!.agentId;
      const h = headers();
      h.set("Nats-Msg-Id", reportMessageId(other, "f0rged", 1));
      const forged = nc.request(reportSubject(other), HostReport.encode(sampleReport({ agentId: other, bootId: "f0rged", seq: 1 })).finish(), { headers: h, timeout: 2_000 });
      await assert.rejects(forged, "no stream answers a publish on another agent's subject");
    } finally {
      await nc.close();
    }
  });

  test("netmap agent revoke removes the identity: nats-server refuses the nkey, the other host's still works", async () => {
    const revoked = await runProgram(process.execPath, [NETMAP_MAIN, "agent", "revoke", "acme/dc1/web1"], { env: env() });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked the NATS identity of acme/dc1/web1 (agent id ${minted.web1!.agentId}); nats-server reloaded\n`);
    assert.ok(!readFileSync(authFile, "utf8").includes(minted.web1!.publicKey));
    await eventually(async () => connectAs(minted.web1!.seed).then((nc) => (nc.close(), false), (error: Error) => /Authorization Violation/i.test(error.message)), "the revoked nkey refused");
    const web2 = await connectAs(minted.web2!.seed);
    await web2.close();
    const again = await runProgram(process.execPath, [NETMAP_MAIN, "agent", "revoke", "web1"], { env: env() });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /acme\/dc1\/web1 has no NATS identity minted by this collector/);
    const audit = (await collector.get("/api/v1/audit")).body.events.map((e: Record<string, string>) => `${e.action} ${e.target} ${e.outcome}`);
    assert.deepEqual(audit.filter((line: string) => line.startsWith("agent_identity")), [
      "agent_identity_mint web1 ok", "agent_identity_mint web2 ok", "agent_identity_revoke acme/dc1/web1 ok", "agent_identity_revoke web1 NOT_FOUND",
    ]);
  });

  test("netmap agent mint writes the seed to a 0600 file or prints it as JSON, and nats-server lets that nkey in", async () => {
    const usage = await runProgram(process.execPath, [NETMAP_MAIN, "agent", "mint", "web1"], { env: env() });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /netmap agent mint HOST --seed-file F\|--json/);

    // A temporary file made for it (here 0644) ends up 0600 with the seed alone.
    const seedFile = join(dir, "minted.nk");
    writeFileSync(seedFile, "", { mode: 0o644 });
    const toFile = await runProgram(process.execPath, [NETMAP_MAIN, "agent", "mint", "web1", "--seed-file", seedFile], { env: env() });
    assert.equal(toFile.code, 0, toFile.stderr);
    const seed = readFileSync(seedFile, "utf8").trim();
    assert.equal(statSync(seedFile).mode & 0o777, 0o600);
    const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    assert.equal(toFile.stdout, `minted NATS nkey ${publicKey} for agent id ${minted.web1!.agentId} (acme/dc1/web1); seed written to ${seedFile}\n`);
    assert.ok(!toFile.stdout.includes(seed) && !toFile.stderr.includes(seed));

    const asJson = await runProgram(process.execPath, [NETMAP_MAIN, "agent", "mint", "acme/dc1/web2", "--json"], { env: env() });
    assert.equal(asJson.code, 0, asJson.stderr);
    const printed = JSON.parse(asJson.stdout);
    assert.deepEqual(Object.keys(printed), ["host", "agent_id", "public_key", "seed"]);
    assert.deepEqual([printed.host, printed.agent_id], ["acme/dc1/web2", minted.web2!.agentId]);
    const file = readFileSync(authFile, "utf8");
    assert.ok(file.includes(publicKey) && file.includes(printed.public_key) && !file.includes(minted.web2!.publicKey), file);
    for (const each of [seed, printed.seed]) await eventually(async () => connectAs(each).then((nc) => (nc.close(), true), () => false), "the minted nkey let in");
  });
});
