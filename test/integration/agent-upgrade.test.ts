// Upgrades over NATS end to end: a nats-server with the permission blocks of
// deploy/nats/agent-permissions.conf as shipped, three real agents each with its own user,
// and the real `netmap agent upgrade`. "The binary" here is a wrapper script that runs
// node on a tree of the agent's source (the single binary takes minutes to build and is
// 100 MiB; the agent treats both alike, NETMAP_AGENT_BINARY naming the wrapper); the new
// version is a copy of the tree whose package.json says another version. A collector records
// each upgrade in its audit trail (agent_upgrade), as the CLI asks it to.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { decodeReport } from "../../proto/src/codec.ts";
import { decodeUpgradeStatus, encodeUpgradeMessage, type UpgradeStatus } from "../../proto/src/release.ts";
import { COLLECTOR_INBOX_PREFIX, RELEASES_STREAM, REPORTS_STREAM, reportSubject, UPGRADE_SUBJECT_PREFIX, upgradeCommandSubject, upgradeStatusSubject } from "../../proto/src/subjects.ts";
import { DEFAULT_STREAM_LIMITS, ensureStream, reportStreamConfig } from "../../collector/src/nats/streams.ts";
import { loadReleaseKey } from "../../collector/src/rollout/release-key.ts";
import { publishReleases } from "../../collector/src/rollout/upgrade.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { NETMAP_MAIN } from "../helpers/cli.ts";
import { authorization } from "../helpers/nats-permissions.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { runProgram } from "../helpers/run.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const OLD = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
// Newer than OLD (the next patch release; build metadata keeps each run's apart).
const NEW = `${OLD.split(/[-+]/)[0]!.replace(/\d+$/, (patch) => String(Number(patch) + 1))}+up${randomBytes(3).toString("hex")}`;
const BAD = `${OLD}-bad${randomBytes(3).toString("hex")}`;
// Sorted so the first is the canary (same hostname for all: they run on this machine).
const IDS = ["a", "b", "c"].map((letter) => `${letter}${randomBytes(5).toString("hex")}`);
const password = () => randomBytes(12).toString("hex");
const PASSWORDS = Object.fromEntries([...IDS, "collector", "spy"].map((who) => [who, password()]));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("agent upgrade over NATS: signed release in the object store, canaries first, rollback", { timeout: 600_000 }, () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let collectorSide: NatsConnection;
  let spy: NatsConnection;
  let configFile: string;
  let releaseKey: ReturnType<typeof loadReleaseKey>;
  const wrappers: Record<"old" | "new" | "bad", string> = { old: "", new: "", bad: "" };
  const agents = new Map<string, RunningAgent>();
  const commands: { subject: string; data: string }[] = [];
  /** Where the agent is installed (read-only to it under the shipped unit), and where upgrades put binaries. */
  const binaryOf = (id: string) => join(dir, "hosts", id, "netmap-agent");
  const upgradedOf = (id: string) => join(dir, "hosts", id, "spool", "bin", "netmap-agent");

  /** A copy of the agent's source whose package.json says `version`. */
  function sourceTree(version: string): string {
    const tree = join(dir, `tree-${version}`);
    for (const part of ["agent", "proto", "lib"]) cpSync(join(ROOT, part), join(tree, part), { recursive: true });
    writeFileSync(join(tree, "package.json"), JSON.stringify({ name: "netmap", version, type: "module" }));
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
    return tree;
  }

  /** A script; `padBytes` behind it (never read: the shell has exec'd by then) make it span several object store chunks. */
  function wrapper(name: string, body: string, padBytes = 0): string {
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat([Buffer.from(`#!/bin/sh\n${body}\n`), Buffer.alloc(padBytes, "#")]));
    chmodSync(path, 0o755);
    return path;
  }

  function startAgent(id: string): RunningAgent {
    const agent = startAgentProcess(
      binaryOf(id),
      ["--nats", nats.url, "--interval", "1s", "--agent-id", id, "--spool-dir", join(dir, "hosts", id, "spool"), "--release-key", releaseKey.publicKey],
      { env: { PATH: process.env.PATH!, NETMAP_NATS_USER: `agent-${id}`, NETMAP_NATS_PASSWORD: PASSWORDS[id]!, NETMAP_LOG_LEVEL: "info", NETMAP_CONTAINERS: "off" } },
    );
    agents.set(id, agent);
    return agent;
  }

  const latestReport = async (id: string) => {
    const jsm = await jetstreamManager(collectorSide);
    const message = await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: reportSubject(id) }).catch(() => null);
    return message ? decodeReport(message.data) : undefined;
  };
  const latestVersion = async (id: string) => (await latestReport(id))?.agentVersion;

  const netmap = (args: string[], token = collector.token) =>
    runProgram(process.execPath, [NETMAP_MAIN, ...args], { env: { PATH: process.env.PATH!, HOME: dir, NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: token }, timeoutMs: 400_000 });
  const upgrade = (args: string[], token?: string) => netmap(["agent", "upgrade", "--config", configFile, ...args], token);
  /** The agent_upgrade entries of the audit trail since `since` (an entry's id), as "actor role target". */
  const upgradeAudit = async (since = 0) =>
    ((await collector.get("/api/v1/audit")).body.events as Array<{ id: number; actor: string; role: string; action: string; target: string; outcome: string }>)
      .filter((e) => e.action === "agent_upgrade" && e.id > since)
      .map((e) => `${e.actor} ${e.role} ${e.outcome} ${e.target}`);
  const lastAuditId = async () => Math.max(0, ...((await collector.get("/api/v1/audit")).body.events as Array<{ id: number }>).map((e) => e.id));
  /** An agent as the audit trail names it: the hostname it reports (agent id). */
  const named = async (id: string) => `${(await latestReport(id))!.hostname} (${id})`;

  /** The next status `id` publishes, once `send` has run (within a minute). */
  async function statusAfter(id: string, send: () => void, final = (s: UpgradeStatus) => s.state !== "fetching"): Promise<UpgradeStatus> {
    const sub = collectorSide.subscribe(upgradeStatusSubject(id), { timeout: 60_000 });
    await collectorSide.flush();
    send();
    try {
      for await (const msg of sub) {
        const status = decodeUpgradeStatus(msg.data);
        if (final(status)) return status;
      }
    } finally {
      sub.unsubscribe();
    }
    assert.fail("no status");
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-upgrade-"));
    const port = await freePort();
    const q = JSON.stringify;
    const natsConfig = join(dir, "nats-server.conf");
    writeFileSync(natsConfig, [
      `listen: "127.0.0.1:${port}"`,
      authorization(IDS, [
        ...IDS.map((id) => ({ login: `user: ${q(`agent-${id}`)}, password: ${q(PASSWORDS[id])}`, permissions: `AGENT_${id}` })),
        { login: `user: "netmap-collector", password: ${q(PASSWORDS.collector)}`, permissions: "COLLECTOR" },
        { login: `user: "spy", password: ${q(PASSWORDS.spy)}`, permissions: "SPY" },
      ], ['SPY = { subscribe = { allow = ["netmap.v1.upgrade.>"] } }']),
      "",
    ].join("\n"));
    [nats, database] = await Promise.all([startNatsServer({ configFile: natsConfig, port }), createTestDatabase()]);
    collector = await startTestCollector({ natsUrl: `nats://netmap-collector:${PASSWORDS.collector}@127.0.0.1:${port}`, databaseUrl: database.url });
    collectorSide = await connect({ servers: nats.url, user: "netmap-collector", pass: PASSWORDS.collector, inboxPrefix: COLLECTOR_INBOX_PREFIX });
    await ensureStream(collectorSide, reportStreamConfig(DEFAULT_STREAM_LIMITS.reports));
    spy = await connect({ servers: nats.url, user: "spy", pass: PASSWORDS.spy });
    spy.subscribe(`${UPGRADE_SUBJECT_PREFIX}.command.>`, {
      callback: (_e, msg: Msg) => {
        commands.push({ subject: msg.subject, data: msg.string() });
      },
    });
    await spy.flush();

    configFile = join(dir, "netmap.yaml");
    writeFileSync(configFile, `nats:\n  url: nats://netmap-collector:${PASSWORDS.collector}@127.0.0.1:${port}\nrelease_key_file: ${join(dir, "release.key")}\n`);
    releaseKey = loadReleaseKey(join(dir, "release.key"), {});

    const run = (tree: string) => `NETMAP_AGENT_BINARY="$0" exec ${q(process.execPath)} ${q(join(tree, "agent", "src", "main.ts"))} "$@"`;
    wrappers.old = wrapper("netmap-agent-old", run(ROOT));
    // 5 MiB: ten chunks of 512 KiB, fetched through the agent's window of requests.
    wrappers.new = wrapper("netmap-agent-new", run(sourceTree(NEW)), 5 * 1024 * 1024 + 12345);
    // Says the right version, then exits at once whenever it is run as an agent.
    wrappers.bad = wrapper("netmap-agent-bad", `[ "$1" = --version ] && { echo "netmap-agent ${BAD} (commit test)"; exit 0; }\necho "netmap-agent: broken build" >&2\nexit 3`);
    for (const id of IDS) {
      mkdirSync(join(dir, "hosts", id), { recursive: true });
      cpSync(wrappers.old, binaryOf(id));
      startAgent(id);
    }
    for (const id of IDS) await eventually(async () => (await latestVersion(id)) === OLD, withLog(`${id} reports ${OLD}`, () => agents.get(id)!.stderr()), 60_000);
  });

  after(async () => {
    await Promise.all([...agents.values()].map(stopAgent));
    await spy?.close();
    await collectorSide?.close();
    await collector?.stop();
    await nats?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the release key file is made 0600 and refused once others may read it", async () => {
    const { statSync } = await import("node:fs");
    assert.equal(statSync(join(dir, "release.key")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "release.key.pub"), "utf8").trim(), releaseKey.publicKey);
    chmodSync(join(dir, "release.key"), 0o644);
    try {
      assert.throws(() => loadReleaseKey(join(dir, "release.key"), {}), /release_key_file: .* may be read by group or others/);
    } finally {
      chmodSync(join(dir, "release.key"), 0o600);
    }
  });

  it("an agent refuses a release signed with another key, and one whose bytes are not the signed sha256", async () => {
    const [id] = IDS as [string];
    const before = readFileSync(binaryOf(id));
    const bytes = new Uint8Array(readFileSync(wrappers.new));
    const otherKey = loadReleaseKey(join(dir, "other.key"), {});
    const [forged] = await publishReleases(collectorSide, [{ architecture: "any", bytes }], NEW, otherKey);
    const refused = await statusAfter(id, () => collectorSide.publish(upgradeCommandSubject(id), encodeUpgradeMessage({ action: "upgrade", release: forged!.release, signature: forged!.signature, trial: true })));
    assert.equal(refused.state, "failed");
    assert.match(refused.reason!, /signature does not verify/);

    // Signed by the right key, but it claims other bytes than the object holds. The same bytes are not stored again.
    const jsm = await jetstreamManager(collectorSide);
    const lastSeq = (await jsm.streams.info(RELEASES_STREAM)).state.last_seq;
    const [stored] = await publishReleases(collectorSide, [{ architecture: "any", bytes }], NEW, releaseKey);
    assert.equal((await jsm.streams.info(RELEASES_STREAM)).state.last_seq, lastSeq, "the same release is not uploaded twice");
    const lie = { ...stored!.release, sha256: sha256(new TextEncoder().encode("something else")) };
    const mismatch = await statusAfter(id, () => collectorSide.publish(upgradeCommandSubject(id), encodeUpgradeMessage({ action: "upgrade", release: lie, signature: releaseKey.sign(lie), trial: true })));
    assert.equal(mismatch.state, "failed");
    assert.match(mismatch.reason!, new RegExp(`sha256 ${stored!.release.sha256} is not the signed ${lie.sha256}`));

    assert.deepEqual(readFileSync(binaryOf(id)), before, "the binary is untouched");
    assert.ok(!existsSync(upgradedOf(id)), "no upgraded binary");
    assert.ok(!existsSync(`${upgradedOf(id)}.new`), "nothing left half-written");
    assert.equal(agents.get(id)!.child.exitCode, null, "the agent runs on");
    assert.equal(await latestVersion(id), OLD);
  });

  it("an agent's NATS user may read releases but not write, purge or delete them", async () => {
    const [id] = IDS as [string];
    const nc = await connect({ servers: nats.url, user: `agent-${id}`, pass: PASSWORDS[id], inboxPrefix: `_INBOX_netmap.agent.${id}`, reconnect: false });
    const violations: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") violations.push(String(s.error));
    })();
    try {
      for (const subject of ["$O.NETMAP_RELEASES.C.forged", "$O.NETMAP_RELEASES.M.forged", "$JS.API.STREAM.PURGE.OBJ_NETMAP_RELEASES", "$JS.API.STREAM.DELETE.OBJ_NETMAP_RELEASES", "$JS.API.STREAM.MSG.DELETE.OBJ_NETMAP_RELEASES"]) {
        nc.publish(subject, "x");
        await nc.flush();
        await eventually(() => violations.some((v) => v.includes(subject)), `publish on ${subject} refused`, 5_000);
      }
    } finally {
      await nc.close();
    }
  });

  it("a canary whose new binary exits at once: the rollout stops, the canary is told to roll back, the rest never hear of it", async () => {
    const binaries = IDS.map((id) => readFileSync(binaryOf(id)));
    commands.length = 0;
    const since = await lastAuditId();
    const run = await upgrade(["--all", "--canary", "1", "--binary", wrappers.bad, "--timeout", "90s"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, new RegExp(`\\(${IDS[0]}\\): failed: the new binary's trial run \\(--once\\) exited with 3`));
    assert.match(run.stdout, /0 upgraded, 0 already there, 1 failed, 0 rolled back, 2 not sent/);
    for (const id of IDS.slice(1)) assert.match(run.stdout, new RegExp(`not_sent\\s+\\S+ \\(${id}\\): a canary failed`));
    await spy.flush();
    // The canary was told to upgrade, then to roll back; the others nothing.
    assert.deepEqual(commands.map((c) => [c.subject, JSON.parse(c.data).action]), [[upgradeCommandSubject(IDS[0]!), "upgrade"], [upgradeCommandSubject(IDS[0]!), "rollback"]]);
    IDS.forEach((id, i) => assert.deepEqual(readFileSync(binaryOf(id)), binaries[i], `${id}'s binary is untouched`));
    for (const id of IDS) assert.ok(!existsSync(upgradedOf(id)), `${id} has no upgraded binary`);
    for (const id of IDS) {
      assert.equal(agents.get(id)!.child.exitCode, null, `${id} runs on`);
      assert.equal(await latestVersion(id), OLD);
    }
    // In the audit trail: who started it on which agents with which release, then how it ended for each.
    const names = await Promise.all(IDS.map(named));
    const [started, canary, ...rest] = await upgradeAudit(since);
    assert.equal(started, `@configured admin ok ${names.join(" ")} ${BAD} started`);
    assert.match(canary!, new RegExp(`^@configured admin ok ${escape(names[0]!)} ${escape(BAD)} failed: the new binary's trial run \\(--once\\) exited with 3`));
    assert.deepEqual(rest, names.slice(1).map((name) => `@configured admin ok ${name} ${BAD} not_sent: a canary failed`));
  });

  it("an operator may not upgrade agents: refused before anything is published, and the refusal is in the audit trail", async () => {
    const created = await netmap(["token", "create", "oncall", "--role", "operator"]);
    assert.equal(created.code, 0, created.stderr);
    commands.length = 0;
    const since = await lastAuditId();
    const run = await upgrade(["--all", "--binary", wrappers.bad], created.stdout.trim());
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /needs the admin role; the token oncall has operator/);
    assert.doesNotMatch(run.stdout, /published/);
    await spy.flush();
    assert.deepEqual(commands, [], "no agent was told anything");
    assert.deepEqual(await upgradeAudit(since), ["oncall operator FORBIDDEN "]);
    for (const id of IDS) assert.equal(await latestVersion(id), OLD);
  });

  it("an upgrade reaches every agent: each swaps in the new binary, keeps the previous one, re-executes and reports the new version; a restart keeps it", async () => {
    const pids = IDS.map((id) => agents.get(id)!.child.pid);
    const since = await lastAuditId();
    const run = await upgrade(["--all", "--canary", "1", "--binary", wrappers.new, "--timeout", "120s"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`upgrade to ${escape(NEW)}: 3 upgraded, 0 already there, 0 failed`));
    for (const [i, id] of IDS.entries()) {
      assert.equal(await latestVersion(id), NEW);
      assert.deepEqual(readFileSync(upgradedOf(id)), readFileSync(wrappers.new), `${id} runs the new binary`);
      assert.equal(readFileSync(`${upgradedOf(id)}.version`, "utf8").trim(), NEW);
      assert.deepEqual(readFileSync(`${upgradedOf(id)}.previous`), readFileSync(wrappers.old), `${id} kept the previous one`);
      assert.deepEqual(readFileSync(binaryOf(id)), readFileSync(wrappers.old), `${id}'s installed binary is untouched`);
      const agent = agents.get(id)!;
      assert.equal(agent.child.exitCode, null, `${id} runs: ${agent.stderr().slice(-2000)}`);
      assert.equal(agent.child.pid, pids[i], "the same process, re-executed");
    }
    // Restarted from the installed binary (as systemd does after a crash or a reboot), it executes the upgraded one.
    const last = IDS.at(-1)!;
    await stopAgent(agents.get(last)!);
    const restarted = startAgent(last);
    const jsm = await jetstreamManager(collectorSide);
    const seqBefore = (await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: reportSubject(last) }))!.seq;
    await eventually(async () => {
      const m = await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: reportSubject(last) });
      return m!.seq > seqBefore && decodeReport(m!.data).agentVersion === NEW;
    }, withLog(`${last} restarted reports ${NEW}`, () => restarted.stderr()), 60_000);
    assert.match(restarted.stderr(), /executing the binary an upgrade left/);

    const names = await Promise.all(IDS.map(named));
    assert.deepEqual((await upgradeAudit(since)).sort(), [
      `@configured admin ok ${names.join(" ")} ${NEW} started`,
      ...names.map((name) => `@configured admin ok ${name} ${NEW} upgraded`),
    ].sort());

    // A second run finds nothing to do, and does nothing the audit trail would hold.
    const beforeAgain = await lastAuditId();
    const again = await upgrade(["--all", "--binary", wrappers.new]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    for (const id of IDS) assert.match(again.stdout, new RegExp(`\\(${id}\\): already runs`));
    assert.deepEqual(await upgradeAudit(beforeAgain), []);
  });

  it("a rollback puts the previous binary back and the agent reports the old version again; one for a version not running is ignored", async () => {
    const [id, other] = IDS as [string, string];
    const pid = agents.get(id)!.child.pid;
    const status = await statusAfter(id, () => collectorSide.publish(upgradeCommandSubject(id), encodeUpgradeMessage({ action: "rollback", from: NEW })));
    assert.deepEqual(status, { state: "rolled_back", version: NEW });
    await eventually(async () => (await latestVersion(id)) === OLD, withLog(`${id} reports ${OLD} again`, () => agents.get(id)!.stderr()), 60_000);
    assert.deepEqual(readFileSync(upgradedOf(id)), readFileSync(wrappers.old));
    assert.equal(readFileSync(`${upgradedOf(id)}.version`, "utf8").trim(), OLD);
    assert.ok(!existsSync(`${upgradedOf(id)}.previous`));
    assert.equal(agents.get(id)!.child.pid, pid);

    // Rolling back from a version the agent does not run changes nothing.
    collectorSide.publish(upgradeCommandSubject(other), encodeUpgradeMessage({ action: "rollback", from: BAD }));
    await collectorSide.flush();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.deepEqual(readFileSync(upgradedOf(other)), readFileSync(wrappers.new));
    assert.equal(await latestVersion(other), NEW);
  });
});
