// `netmap agent install` through two bastions to real sshds in network namespaces
// (test/helpers/netns.ts), with routes from a real collector over gRPC (and from a
// topology file where said). The namespaces share this machine's filesystem, so every
// install goes under a temporary --prefix, never into the real /usr/local/bin or /etc.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { parse as parseConfig } from "yaml";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { routeTo } from "../../collector/src/topology/routes.ts";
import { AgentBuilds } from "../../collector/src/rollout/artefacts.ts";
import { installAgents } from "../../collector/src/rollout/install.ts";
import { loadReleaseKey } from "../../collector/src/rollout/release-key.ts";
import { loadAgentConfig } from "../../agent/src/config.ts";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { startMintingCollector, type MintingSetup } from "../helpers/agent-identities.ts";
import type { TestCollector } from "../helpers/collector.ts";
import type { TestNatsServer } from "../helpers/nats-server.ts";
import { createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = join(ROOT, "collector", "src", "main.ts");
const BINARY = join(ROOT, "dist", "netmap-agent-linux-x64");
const UNIT = join(ROOT, "deploy", "systemd", "netmap-agent.service");
const NATS = "nats://10.0.0.1:4222";

describe("netmap agent install through a bastion chain (network namespaces, real sshd)", () => {
  let chain: SshChain;
  let env: Record<string, string>;
  let topologyFile: string;
  let prefix: string;
  let binaryHash: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let minting: MintingSetup;
  let mintingDir: string;

  before(async () => {
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    await run(process.execPath, [join(ROOT, "agent", "build.ts"), "x64"], { cwd: ROOT });
    // The compressed copies are made once per build, by the first install after it (minutes on a
    // loaded machine): made here, so the CLI's timeouts cover the installs alone.
    const build = await new AgentBuilds(join(ROOT, "dist")).get("x64");
    await Promise.all([build.packed("xz"), build.packed("gzip")]);
    binaryHash = createHash("sha256").update(readFileSync(BINARY)).digest("hex");
    database = await createTestDatabase();
    mintingDir = mkdtempSync(join(tmpdir(), "netmap-install-nats-"));
    minting = await startMintingCollector(mintingDir, database.url);
    ({ nats, collector } = minting);
    chain = await createSshChain();
    env = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? "/root",
      SSH_AUTH_SOCK: chain.authSocket,
      NETMAP_KNOWN_HOSTS: join(chain.dir, "netmap", "known_hosts"),
      NETMAP_URL: collector.grpcAddress,
      NETMAP_TOKEN: collector.token,
    };
    topologyFile = join(chain.dir, "topology.yaml");
    writeFileSync(topologyFile, chain.topologyYaml);
    const imported = await netmap("import", topologyFile);
    assert.equal(imported.code, 0, imported.stderr);
    prefix = mkdtempSync(join(tmpdir(), "netmap-install-"));
  });

  after(async () => {
    await chain?.close();
    await collector?.stop();
    await database?.drop();
    await nats?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    if (mintingDir) rmSync(mintingDir, { recursive: true, force: true });
  });

  const netmap = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
  const install = (...args: string[]) => netmap("agent", "install", "--prefix", prefix, ...args);
  const installOffline = (...args: string[]) => install("--topology", topologyFile, ...args);
  const onTarget = async (...command: string[]) => {
    const result = await netmap("ssh", "--topology", topologyFile, "target", "--", ...command);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  const at = (path: string) => join(prefix, path);
  const mode = (path: string) => (statSync(at(path)).mode & 0o777).toString(8);

  test("--dry-run prints each step per host and connects nowhere", async () => {
    const { code, stdout, stderr } = await install("--dry-run", "--all", "--nats", NATS);
    assert.equal(code, 0, stderr);
    assert.equal((await installOffline("--dry-run", "--all", "--nats", NATS)).stdout, stdout, "the same from the topology file");
    for (const host of ["bastion1", "bastion2", "target"]) {
      assert.match(stdout, new RegExp(`^${host}: would upload dist/netmap-agent-linux-\\{x64\\|arm64\\} .* to ${at("/usr/local/bin/netmap-agent")} \\(0755\\)`, "m"));
      assert.match(stdout, new RegExp(`^${host}: would write ${at("/etc/netmap/agent.yaml")} \\(0600\\) if absent: .*"url":"${NATS}"`, "m"));
    }
    assert.match(stdout, /^target: route root@\S+ → root@\S+ → root@\S+$/m);
    assert.equal(existsSync(env.NETMAP_KNOWN_HOSTS!), false, "no ssh ran");
    assert.equal(existsSync(at("/usr/local/bin")), false);
  });

  test("bad usage exits 2 and names the problem, before connecting", async () => {
    const cases: [string[], RegExp][] = [
      [[], /name the hosts, or --all/],
      [["target", "--all"], /name the hosts, or --all/],
      [["nosuch", "--nats", NATS], /no host "nosuch"/],
      [["target", "--force-config"], /--force-config writes a new agent.yaml: give --nats URL/],
      [["target", "--nats", "10.0.0.1:4222"], /--nats: expected nats:\/\/HOST:PORT/],
      [["target", "--nats", NATS, "--parallel", "0"], /--parallel/],
    ];
    for (const [args, message] of cases) {
      for (const run of [install, installOffline]) {
        const { code, stderr } = await run(...args);
        assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
        assert.match(stderr, message);
      }
    }
    const noSubcommand = await netmap("agent");
    assert.equal(noSubcommand.code, 2);
    assert.match(noSubcommand.stderr, /usage: netmap agent install HOST\.\.\.\|--all/);
    assert.equal(existsSync(env.NETMAP_KNOWN_HOSTS!), false, "no ssh ran");
  });

  test("without --nats, a host with no agent.yaml fails with a message saying to give it", async () => {
    const { code, stdout, stderr } = await install("target");
    assert.equal(code, 1);
    assert.match(stderr, /^target: failed: .*\/etc\/netmap\/agent\.yaml is absent: give --nats URL/m);
    assert.match(stdout, /^target +failed +\S+\/etc\/netmap\/agent\.yaml is absent: give --nats URL/m);
    assert.equal(existsSync(at("/usr/local/bin/netmap-agent")), false, "nothing installed");
  });

  test("installs the binary, unit and config on the target through both bastions; no systemd there, so not started", async () => {
    const { code, stdout, stderr } = await install("target", "--nats", NATS);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^target: connecting \(root@\S+ → root@\S+ → root@\S+\)$/m);
    assert.match(stdout, /^target: uploading netmap-agent-linux-x64 \(\d+\.\d MiB, xz \d+\.\d MiB\)$/m);
    assert.match(stdout, /^target: netmap-agent \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, node v24\.\d+\.\d+, linux-x64\)$/m);
    assert.match(stdout, /^target: installed, not started: no systemd$/m);
    assert.match(stdout, /^HOST +BINARY +SERVICE +VERSION OR REASON\ntarget +installed +not started \(no systemd\) +netmap-agent \d/m);
    assert.match(stdout, /^summary: agent installed on 1 of 1 host \(1 sent, 0 already there\), 0 failed\n$/m);

    // Checked on the target, through the chain.
    const remoteHash = (await onTarget("sha256sum", at("/usr/local/bin/netmap-agent"))).split(" ")[0];
    assert.equal(remoteHash, binaryHash);
    assert.match(await onTarget(at("/usr/local/bin/netmap-agent"), "--version"), /^netmap-agent \d+\.\d+\.\d+ /);
    assert.equal(mode("/usr/local/bin/netmap-agent"), "755");
    assert.equal(readFileSync(at("/etc/systemd/system/netmap-agent.service"), "utf8"), readFileSync(UNIT, "utf8"));
    assert.equal(mode("/etc/systemd/system/netmap-agent.service"), "644");
    const config = parseConfig(readFileSync(at("/etc/netmap/agent.yaml"), "utf8"));
    assert.deepEqual(config, { nats: { url: NATS } });
    assert.equal(mode("/etc/netmap/agent.yaml"), "600");
    assert.deepEqual(
      spawnSync("find", [prefix, "-name", ".*.tmp"], { encoding: "utf8" }).stdout,
      "",
      "no temporary file left behind",
    );
  });

  test("running it again keeps the existing config, skips an identical binary, and succeeds; --force-config replaces the config", async () => {
    const configPath = at("/etc/netmap/agent.yaml");
    const edited = `${readFileSync(configPath, "utf8")}interval: 30s # edited by hand\n`;
    writeFileSync(configPath, edited);
    const again = await install("target", "--nats", "nats://10.9.9.9:4222");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^target: .*\/usr\/local\/bin\/netmap-agent is already netmap-agent-linux-x64 \(sha256 [0-9a-f]{12}\)$/m);
    assert.match(again.stdout, /^target: keeping the existing .*\/etc\/netmap\/agent\.yaml \(--force-config replaces it\)$/m);
    assert.match(again.stdout, /^target: installed, not started: no systemd$/m);
    assert.match(again.stdout, /^target +already there +not started \(no systemd\) /m);
    assert.equal(readFileSync(configPath, "utf8"), edited);
    // Without --nats too, now that the host has a config.
    const noNats = await install("target");
    assert.equal(noNats.code, 0, noNats.stderr);

    const creds = join(chain.dir, "agent.creds");
    writeFileSync(creds, "-----BEGIN NATS USER JWT-----\nfake\n------END NATS USER JWT------\n");
    const forced = await install("target", "--nats", "nats://10.9.9.9:4222", "--creds", creds, "--force-config");
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(parseConfig(readFileSync(configPath, "utf8")), { nats: { url: "nats://10.9.9.9:4222", creds: "/etc/netmap/nats.creds" } });
    assert.equal(readFileSync(at("/etc/netmap/nats.creds"), "utf8"), readFileSync(creds, "utf8"));
    assert.equal(mode("/etc/netmap/nats.creds"), "600");
    // The unit's DynamicUser cannot read a root-only file: systemd hands it over.
    const dropIn = readFileSync(at("/etc/systemd/system/netmap-agent.service.d/nats-creds.conf"), "utf8");
    assert.match(dropIn, /^\[Service\]\nLoadCredential=nats\.creds:\/etc\/netmap\/nats\.creds\nEnvironment=NETMAP_NATS_CREDS=%d\/nats\.creds\n$/m);
    assert.equal(mode("/etc/systemd/system/netmap-agent.service.d/nats-creds.conf"), "644");
  });

  test("--mint-nkey gives the host a NATS nkey of its own: its seed, a drop-in and an agent.yaml with its agent id, and the collector's file lets it in", async () => {
    const minted = await install("target", "--nats", NATS, "--mint-nkey");
    assert.equal(minted.code, 0, minted.stderr);
    const [, publicKey, agentId] = /^\S+\/target: minted NATS nkey (U[A-Z2-7]{55}) for agent id (h[0-9a-f]{20})$/m.exec(minted.stdout) ?? [];
    assert.ok(publicKey && agentId, minted.stdout);
    assert.deepEqual(parseConfig(readFileSync(at("/etc/netmap/agent.yaml"), "utf8")), { agent_id: agentId, nats: { url: NATS, nkey: "/etc/netmap/nats.nk" } });
    assert.match(readFileSync(at("/etc/netmap/nats.nk"), "utf8"), /^SU[A-Z2-7]{56}\n$/);
    assert.equal(mode("/etc/netmap/nats.nk"), "600");
    const dropIn = readFileSync(at("/etc/systemd/system/netmap-agent.service.d/nats-nkey.conf"), "utf8");
    assert.match(dropIn, /^\[Service\]\nLoadCredential=nats\.nk:\/etc\/netmap\/nats\.nk\nEnvironment=NETMAP_NATS_NKEY=%d\/nats\.nk\n$/m);
    assert.ok(!existsSync(at("/etc/systemd/system/netmap-agent.service.d/nats-creds.conf")), "the creds drop-in of the earlier install is gone");
    assert.ok(readFileSync(minting.authFile, "utf8").includes(`{ nkey: "${publicKey}", permissions: { publish = { allow = ["netmap.v1.report.${agentId}", `));
    const seed = readFileSync(at("/etc/netmap/nats.nk"), "utf8").trim();
    const nc = await connect({ servers: minting.natsUrl, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), reconnect: false });
    await nc.close();
    const bad = await install("target", "--mint-nkey");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mint-nkey: .* give --nats URL, and neither --creds nor --topology/);
  });

  test("with the collector's release key, a written agent.yaml holds release_key and the agent's loader takes it; a kept one is left as it is, and the summary says so", async () => {
    const keyFile = join(chain.dir, "release.key");
    const key = loadReleaseKey(keyFile, {});
    const collectorConfig = join(chain.dir, "netmap.yaml");
    writeFileSync(collectorConfig, `release_key_file: ${keyFile}\n`);
    const configPath = at("/etc/netmap/agent.yaml");
    const before = readFileSync(configPath, "utf8");

    const kept = await install("target", "--config", collectorConfig);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /^target: release key not written: agent\.yaml kept, use --force-config$/m);
    assert.equal(readFileSync(configPath, "utf8"), before);

    const forced = await install("target", "--config", collectorConfig, "--nats", NATS, "--force-config", "--json");
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).hosts[0].release_key, "written");
    const text = readFileSync(configPath, "utf8");
    assert.deepEqual(parseConfig(text), { nats: { url: NATS }, release_key: key.publicKey });
    const loaded = loadAgentConfig({ argv: ["--config", configPath], env: {}, readFile: (path) => readFileSync(path, "utf8") });
    if (loaded.command !== "run") assert.fail(`the agent's loader said ${loaded.command}`);
    assert.equal(loaded.config.releaseKey, key.publicKey);

    // A .pub that is no ed25519 public key is refused before connecting anywhere.
    writeFileSync(`${keyFile}.pub`, "not a key\n");
    const bad = await install("target", "--config", collectorConfig);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /release_key_file: \S+release\.key\.pub is not an ed25519 public key/);
    assert.equal(readFileSync(configPath, "utf8"), text);
  });

  test("a missing dist binary fails that host with a message saying to build it", async () => {
    const emptyDist = mkdtempSync(join(tmpdir(), "netmap-dist-"));
    try {
      const hops = routeTo(parseTopologyFile(readFileSync(topologyFile, "utf8")), "target");
      // In this process, ssh finds the user's key through the same agent as the CLI's.
      const savedSocket = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = env.SSH_AUTH_SOCK;
      const lines: string[] = [];
      const [outcome] = await installAgents(
        [{ label: "target", hops }],
        { natsUrl: NATS, forceConfig: false, prefix, distDir: emptyDist, unitFile: UNIT, knownHostsFile: env.NETMAP_KNOWN_HOSTS!, parallel: 8 },
        { host: (label, message) => lines.push(`${label}: ${message}`), phase: () => {} },
      ).finally(() => (savedSocket === undefined ? delete process.env.SSH_AUTH_SOCK : (process.env.SSH_AUTH_SOCK = savedSocket)));
      assert.equal(outcome!.status, "failed");
      assert.ok(lines.includes("target: connecting (root@" + hops.map((h) => h.address).join(" → root@") + ")"), lines.join("\n"));
      assert.match((outcome as { message: string }).message, /netmap-agent-linux-x64 is missing: run `npm run build:agent`/);
    } finally {
      rmSync(emptyDist, { recursive: true, force: true });
    }
  });

  test("--all installs on every host with a route, through the collector's topology", async () => {
    rmSync(prefix, { recursive: true, force: true });
    const { code, stdout, stderr } = await install("--all", "--nats", NATS, "--parallel", "2");
    assert.equal(code, 0, stderr);
    for (const host of ["bastion1", "bastion2", "target"]) {
      assert.match(stdout, new RegExp(`^${host}: netmap-agent \\d+\\.\\d+\\.\\d+ `, "m"));
      assert.match(stdout, new RegExp(`^${host}: installed, not started: no systemd$`, "m"));
    }
    for (const host of ["bastion1", "bastion2", "target"]) assert.match(stdout, new RegExp(`^${host} +installed +not started \\(no systemd\\) `, "m"));
    assert.match(stdout, /^summary: agent installed on 3 of 3 hosts \(3 sent, 0 already there\), 0 failed\n$/m);
    // Each host's install is in the collector's audit trail, under the token that ran it.
    const audit = (await collector.get("/api/v1/audit")).body.events.filter((e: { action: string }) => e.action === "agent_install");
    const recorded = audit.map((e: Record<string, string>) => `${e.actor} ${e.target} ${e.outcome}`).sort();
    for (const host of ["bastion1", "bastion2", "target"]) assert.ok(recorded.includes(`@configured ${host} not-started ok`), recorded.join("; "));
  });

  test("a changed host key fails that host, naming it and both fingerprints, and the other hosts are still installed", async () => {
    const fingerprint = (publicKey: string) => /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-l", "-f", publicKey], { encoding: "utf8" }))![1]!;
    const pinned = fingerprint(`${chain.hosts.target.hostKey}.pub`);
    await chain.replaceHostKey("target");
    const offered = fingerprint(`${chain.hosts.target.hostKey}.pub`);
    // The hosts share this machine's filesystem: start from nothing, so what is there afterwards is bastion2's doing.
    rmSync(prefix, { recursive: true, force: true });

    const { code, stdout, stderr } = await install("bastion2", "target", "--nats", NATS);
    assert.equal(code, 1, stderr);
    assert.match(stdout, /^bastion2: uploading netmap-agent-linux-x64/m);
    assert.match(stdout, /^bastion2: installed, not started: no systemd$/m);
    assert.match(stderr, /^target: failed: host key of lab\/ns\/target has changed; connection refused\./m);
    assert.ok(stderr.includes(`pinned:  ${pinned} (ED25519)`), stderr);
    assert.ok(stderr.includes(`offered: ${offered} (ED25519)`), stderr);
    assert.match(stdout, /^bastion2 +installed +not started \(no systemd\) /m);
    assert.match(stdout, /^target +failed +host key of lab\/ns\/target has changed; connection refused\.$/m);
    assert.match(stdout, /^summary: agent installed on 1 of 2 hosts \(1 sent, 0 already there\), 1 failed\n$/m);
    assert.equal(createHash("sha256").update(readFileSync(at("/usr/local/bin/netmap-agent"))).digest("hex"), binaryHash);
  });
});
