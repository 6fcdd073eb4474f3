// `netmap agent install` to a small fleet behind two bastions (test/helpers/rollout-lab.ts: real
// sshd per host, each with its own filesystem under the install prefix, a slowed first link):
// the encoding each host can unpack, the copy staged once on bastion2 and checked on every target,
// the re-run that sends nothing, --json, and Ctrl-C leaving no half-written file.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { AgentBuilds } from "../../collector/src/rollout/artefacts.ts";
import { DEFAULT_DIST_DIR, DEFAULT_UNIT_FILE, installAgents } from "../../collector/src/rollout/install.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { allHosts, routeFrom } from "../../collector/src/topology/routes.ts";
import { netnsUnavailable } from "../helpers/netns.ts";
import { createRolloutLab, type RolloutLab } from "../helpers/rollout-lab.ts";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = join(ROOT, "collector", "src", "main.ts");
const BINARY = join(ROOT, "dist", "netmap-agent-linux-x64");
const NATS = "nats://10.0.0.1:4222";
const TARGETS = ["t01", "t02", "t03"];
const ALL = ["bastion1", "bastion2", ...TARGETS];

describe("netmap agent install to a fleet behind two bastions (namespaces, real sshd, own filesystem per host)", () => {
  let lab: RolloutLab;
  let env: Record<string, string>;
  let binaryHash: string;

  before(async () => {
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the rollout lab: ${unavailable}`);
    await run(process.execPath, [join(ROOT, "agent", "build.ts"), "x64"], { cwd: ROOT });
    // The compressed copies are made once per build, by the first install after it (minutes on a
    // loaded machine): made here, so the CLI's timeouts cover the installs alone.
    const build = await new AgentBuilds(join(ROOT, "dist")).get("x64");
    await Promise.all([build.packed("xz"), build.packed("gzip")]);
    binaryHash = sha256(readFileSync(BINARY));
    // bastion2 and t02 have no xz: they must be sent gzip.
    lab = await createRolloutLab({ targets: TARGETS.length, wanRate: "40mbit", without: { bastion2: ["xz"], t02: ["xz"] } });
    env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", SSH_AUTH_SOCK: lab.authSocket, NETMAP_KNOWN_HOSTS: lab.knownHostsFile };
  });

  after(async () => {
    await lab?.close();
  });

  const install = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, "agent", "install", "--all", "--topology", lab.topologyFile, "--prefix", lab.prefix, "--nats", NATS, ...args], { env, encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
  const binaryOf = (host: string) => join(lab.rootOf(host), "usr", "local", "bin", "netmap-agent");
  const leftovers = () =>
    ALL.flatMap((host) => {
      const dir = join(lab.rootOf(host), "usr", "local", "bin");
      return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(".tmp")).map((name) => `${host}: ${name}`) : [];
    });
  const stagedDirs = () => readdirSync("/tmp").filter((name) => name.startsWith("netmap-stage."));

  test("the first rollout sends xz where the host has it and gzip where it has not, stages one gzip copy on bastion2 for its targets, and --json sums it up", async () => {
    const stagedBefore = new Set(stagedDirs());
    const { code, stdout, stderr } = await install("--json");
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout);
    assert.deepEqual([summary.installed, summary.already_there, summary.failed, summary.interrupted], [ALL.length, 0, 0, false], stdout);
    const byHost = new Map(summary.hosts.map((h: { host: string }) => [h.host, h]));
    assert.deepEqual([...byHost.keys()].sort(), [...ALL].sort());
    for (const host of ALL) {
      const entry = byHost.get(host) as Record<string, unknown>;
      assert.equal(entry.result, "installed", host);
      assert.equal(entry.service, "not-started");
      assert.equal(entry.reason, "no systemd");
      assert.match(String(entry.version), /^netmap-agent \d+\.\d+\.\d+ /);
      // The targets fetch the staged copy, gzip: it crossed the slow link once and unpacks fastest.
      assert.equal(entry.sent_as, host === "bastion1" ? "xz" : "gzip", host);
      assert.equal(sha256(readFileSync(binaryOf(host))), binaryHash, host);
      assert.equal(statSync(binaryOf(host)).mode & 0o777, 0o755);
      // The stored digest a re-run reads instead of hashing the binary.
      const digest = readFileSync(join(lab.rootOf(host), "usr", "local", "bin", ".netmap-agent.sha256"), "utf8");
      assert.equal(digest, `${binaryHash} ${statSync(binaryOf(host)).size} ${entry.version}\n`);
    }
    // The bastions got their copy through the chain; the targets fetched theirs from bastion2.
    for (const host of ["bastion1", "bastion2"]) assert.ok((byHost.get(host) as { bytes_sent: number }).bytes_sent > 0, host);
    for (const host of TARGETS) assert.equal((byHost.get(host) as { bytes_sent: number }).bytes_sent, 0, host);
    // Only the JSON on stdout; the progress of each phase on stderr (not a terminal: one line at its end).
    for (const phase of ["connect", "upload", "configure"]) assert.match(stderr, new RegExp(`^${phase} +\\[#+\\]  ${ALL.length}/${ALL.length} hosts`, "m"));
    assert.match(stderr, /^stage +\[#+\]  1\/1 site +[\d.]+\/[\d.]+ MiB/m);
    assert.deepEqual(leftovers(), []);
    assert.deepEqual(stagedDirs().filter((d) => !stagedBefore.has(d)), [], "the staged copy is removed from bastion2");
  });

  test("the re-run sends nothing and says so per host; a binary changed since (newer than its digest) is hashed and replaced", async () => {
    const again = await install();
    assert.equal(again.code, 0, again.stderr);
    for (const host of ALL) assert.match(again.stdout, new RegExp(`^${host} +already there +not started \\(no systemd\\) +netmap-agent `, "m"));
    assert.match(again.stdout, new RegExp(`^summary: agent installed on ${ALL.length} of ${ALL.length} hosts \\(0 sent, ${ALL.length} already there\\), 0 failed$`, "m"));

    const changed = readFileSync(binaryOf("t03"));
    changed[changed.length - 1]! ^= 0xff;
    writeFileSync(binaryOf("t03"), changed);
    const third = await install();
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /^t03 +installed /m);
    for (const host of ["bastion1", "bastion2", "t01", "t02"]) assert.match(third.stdout, new RegExp(`^${host} +already there `, "m"));
    assert.equal(sha256(readFileSync(binaryOf("t03"))), binaryHash);
  });

  test("a staged copy tampered with on bastion2 is refused by every target, which then gets its copy through the chain", async () => {
    for (const host of TARGETS) rmSync(binaryOf(host));
    const hosts = allHosts(parseTopologyFile(readFileSync(lab.topologyFile, "utf8"))).filter((h) => TARGETS.includes(h.host.name));
    const lines: string[] = [];
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = lab.authSocket;
    const outcomes = await installAgents(
      hosts.map((h) => ({ label: h.host.name, hops: routeFrom(h) })),
      { natsUrl: NATS, forceConfig: false, prefix: lab.prefix, distDir: DEFAULT_DIST_DIR, unitFile: DEFAULT_UNIT_FILE, knownHostsFile: lab.knownHostsFile, parallel: 8 },
      {
        host: (label, message) => {
          lines.push(`${label}: ${message}`);
          // Staged and served, not yet fetched: replace every staged file with another valid stream.
          if (/fetches its copy from/.test(message)) {
            for (const dir of stagedDirs()) {
              for (const name of readdirSync(join("/tmp", dir))) {
                const path = join("/tmp", dir, name);
                writeFileSync(path, execFileSync(name.endsWith(".xz") ? "xz" : "gzip", ["-c"], { input: "not the agent\n" }));
              }
            }
          }
        },
        phase: () => {},
      },
    ).finally(() => (saved === undefined ? delete process.env.SSH_AUTH_SOCK : (process.env.SSH_AUTH_SOCK = saved)));
    assert.deepEqual(outcomes.map((o) => o.status), ["not-started", "not-started", "not-started"], lines.join("\n"));
    for (const host of TARGETS) {
      assert.ok(
        lines.some((line) => line.startsWith(`${host}: the binary from the staged copy: exit 3: sha256 on the target is `) && line.endsWith(`expected ${binaryHash}; uploading through the chain instead`)),
        lines.join("\n"),
      );
      assert.ok(lines.some((line) => line.startsWith(`${host}: uploading netmap-agent-linux-x64 (`) && line.includes(host === "t02" ? ", gzip " : ", xz ")), lines.join("\n"));
      assert.equal(sha256(readFileSync(binaryOf(host))), binaryHash, host);
    }
    assert.deepEqual(leftovers(), []);
  });

  test("Ctrl-C during the upload stops the rollout (exit 130) and leaves no half-written binary on any host", async () => {
    for (const host of ALL) rmSync(binaryOf(host), { force: true });
    const stagedBefore = new Set(stagedDirs());
    const child = spawn(process.execPath, [MAIN, "agent", "install", "--all", "--topology", lab.topologyFile, "--prefix", lab.prefix, "--nats", NATS], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Once bastion1's copy is on its way over the slow link (about 5 s of it), plus a second.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk;
        if (/^bastion1: uploading /m.test(stdout)) resolve();
      });
      void exited.then(() => reject(new Error(`exited before uploading:\n${stdout}\n${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(
      ALL.some((host) => {
        const dir = join(lab.rootOf(host), "usr", "local", "bin");
        return existsSync(dir) && readdirSync(dir).some((name) => name.endsWith(".tmp"));
      }),
      "a binary is half-written when Ctrl-C comes",
    );
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.match(stdout, /^bastion1 +failed +interrupted$/m);
    assert.match(stdout, /^summary: .*failed$/m);
    // Each target's script removes its temporary file as its session is cut; give them a moment.
    for (let i = 0; i < 100 && leftovers().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(leftovers(), []);
    for (const host of ALL) {
      if (existsSync(binaryOf(host))) assert.equal(sha256(readFileSync(binaryOf(host))), binaryHash, `${host}: only whole, checked binaries`);
    }
    for (let i = 0; i < 100 && stagedDirs().some((d) => !stagedBefore.has(d)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(stagedDirs().filter((d) => !stagedBefore.has(d)), [], "the staged copy is removed from bastion2");
  });
});

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
