// The Ansible rollout: deploy/ansible/netmap-agent.yml installs the agent on the target of a real
// bastion chain (network namespaces, real sshd), with its hosts taken from a real collector by
// the dynamic inventory script deploy/ansible/inventory/netmap.py.
//
// The namespaces share this machine's filesystem, so every run passes netmap_agent_prefix (a
// temporary directory): without it the playbook would write /usr/local/bin and /etc here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { fromSeed } from "@nats-io/nkeys";
import pg from "pg";
import { startMintingCollector } from "../helpers/agent-identities.ts";
import type { TestCollector } from "../helpers/collector.ts";
import { freePort, type TestNatsServer } from "../helpers/nats-server.ts";
import { createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { runProgram } from "../helpers/run.ts";

const root = new URL("../../", import.meta.url).pathname;
const MAIN = join(root, "collector", "src", "main.ts");
const INVENTORY = join(root, "deploy", "ansible", "inventory", "netmap.py");
const PLAYBOOK = join(root, "deploy", "ansible", "netmap-agent.yml");
const NATS_URL = "nats://10.0.0.1:4222";



const run = (command: string, args: string[], env: Record<string, string>) => runProgram(command, args, { env, cwd: root });

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");
/** The PLAY RECAP line of a host: ok=… changed=… unreachable=… failed=… */
const recap = (stdout: string, host: string) => new RegExp(`^${host}\\s+: (.*)$`, "m").exec(stdout.slice(stdout.lastIndexOf("PLAY RECAP")))?.[1] ?? "";

describe("netmap-agent rolled out by Ansible through a bastion chain, hosts from the collector's inventory", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let chain: SshChain;
  let ansibleEnv: Record<string, string>;
  let prefix: string;
  let authFile: string;
  let collectorDir: string;

  // The test's hosts are reached as root and have no sudo, so no become (the variable overrides the play's `become: true`).
  const ansiblePlaybook = (...args: string[]) => run("ansible-playbook", ["-i", INVENTORY, PLAYBOOK, "-l", "target", "-e", "ansible_become=false", ...args], ansibleEnv);
  const playbook = (...extra: string[]) => ansiblePlaybook("-e", `netmap_agent_nats_url=${NATS_URL}`, "-e", `netmap_agent_prefix=${prefix}`, ...extra);

  before(async () => {
    // Root, iproute2, openssh-server and ansible-core are what this test needs (.ci/run installs them): fail, never skip.
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    const built = promisify(execFile)(process.execPath, [join(root, "agent", "build.ts"), "x64"], { cwd: root });
    database = await createTestDatabase();
    // A collector that mints agents' NATS identities, for the role's netmap_agent_mint_nkey.
    collectorDir = mkdtempSync(join(tmpdir(), "netmap-ansible-collector-"));
    ({ nats, collector, authFile } = await startMintingCollector(collectorDir, database.url));
    chain = await createSshChain();

    const socket = chain.authSocket;
    const bare = { PATH: process.env.PATH!, HOME: chain.dir, XDG_STATE_HOME: chain.dir, SSH_AUTH_SOCK: socket };

    const topologyFile = join(chain.dir, "topology.yaml");
    writeFileSync(topologyFile, chain.topologyYaml);
    const imported = await run(process.execPath, [MAIN, "import", topologyFile], { ...bare, NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token });
    assert.equal(imported.code, 0, imported.stderr);

    // Host key checking stays on, against the chain's keys only.
    const sshConfig = chain.writeStrictSshConfig();
    const ansibleHome = join(chain.dir, "ansible");
    mkdirSync(ansibleHome, { recursive: true });
    ansibleEnv = {
      ...bare,
      NETMAP_HTTP_URL: collector.httpUrl,
      NETMAP_TOKEN: collector.token,
      NETMAP_URL: collector.grpcAddress,
      ANSIBLE_SSH_ARGS: `-F ${sshConfig}`,
      ANSIBLE_HOST_KEY_CHECKING: "True",
      ANSIBLE_HOME: ansibleHome,
      ANSIBLE_LOCAL_TEMP: join(ansibleHome, "tmp"),
      // The target's home is this machine's /root: its temporary files go to the test's directory.
      ANSIBLE_REMOTE_TMP: join(chain.dir, "remote-tmp"),
      ANSIBLE_PIPELINING: "True",
      ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
      ANSIBLE_INVENTORY_UNPARSED_FAILED: "True",
      ANSIBLE_NOCOLOR: "1",
    };
    prefix = mkdtempSync(join(tmpdir(), "netmap-ansible-prefix-"));
    await built;
  });

  after(async () => {
    await chain?.close();
    await collector?.stop();
    await database?.drop();
    await nats?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    if (collectorDir) rmSync(collectorDir, { recursive: true, force: true });
  });

  test("the inventory script prints the collector's inventory for --list, and a host's variables for --host", async () => {
    const list = await run(INVENTORY, ["--list"], ansibleEnv);
    assert.equal(list.code, 0, list.stderr);
    const inventory = JSON.parse(list.stdout);
    assert.deepEqual(inventory, (await collector.get("/api/v1/inventory/ansible")).body);
    assert.equal(inventory._meta.hostvars.target.ansible_ssh_common_args, `-o ProxyJump=root@${chain.hosts.bastion1.address}:22,root@${chain.hosts.bastion2.address}:22`);
    const host = await run(INVENTORY, ["--host", "target"], ansibleEnv);
    assert.deepEqual(JSON.parse(host.stdout), inventory._meta.hostvars.target);
    assert.deepEqual(JSON.parse((await run(INVENTORY, ["--host", "nowhere"], ansibleEnv)).stdout), {});
  });

  test("the inventory script fails with exit 1 and says why, for a wrong token and an unreachable collector", async () => {
    const refused = await run(INVENTORY, ["--list"], { ...ansibleEnv, NETMAP_TOKEN: "not-the-token" });
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.equal(refused.stderr, `netmap inventory: the collector at ${collector.httpUrl.replace(/\/$/, "")} refused the request: unauthenticated (the token in NETMAP_TOKEN is not the collector's)\n`);

    const tokenFile = join(chain.dir, "wrong-token");
    writeFileSync(tokenFile, "wrong\n");
    const { NETMAP_TOKEN: _, ...withoutToken } = ansibleEnv;
    const fromFile = await run(INVENTORY, ["--list"], { ...withoutToken, NETMAP_TOKEN_FILE: tokenFile });
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.stderr, new RegExp(`unauthenticated \\(the token in ${tokenFile} is not the collector's\\)`));

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await run(INVENTORY, ["--list"], { ...ansibleEnv, NETMAP_HTTP_URL: nowhere });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`^netmap inventory: cannot reach the collector at ${nowhere} \\(.*refused.*\\); is \`netmap serve\` running`));
  });

  test("a check-mode run on a fresh host succeeds and writes nothing", async () => {
    const result = await playbook("--check");
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(recap(result.stdout, "target"), /failed=0/);
    assert.deepEqual(readdirSync(prefix), []);
  });

  test("the playbook installs the binary, unit and config with their modes, and runs the binary on the target", async () => {
    const result = await playbook();
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(recap(result.stdout, "target"), /changed=[1-9]\d* .*failed=0/);

    const binary = join(prefix, "usr/local/bin/netmap-agent");
    const unit = join(prefix, "etc/systemd/system/netmap-agent.service");
    const config = join(prefix, "etc/netmap/agent.yaml");
    assert.deepEqual([mode(binary), mode(unit), mode(config)], ["0755", "0644", "0600"]);
    assert.equal(sha256(binary), sha256(join(root, "dist", "netmap-agent-linux-x64")));
    assert.equal(readFileSync(unit, "utf8"), readFileSync(join(root, "deploy", "systemd", "netmap-agent.service"), "utf8"));
    assert.match(readFileSync(config, "utf8"), new RegExp(`^nats:\\n  url: "${NATS_URL}"$`, "m"));
    assert.equal(existsSync(join(prefix, "etc/netmap/nats.creds")), false, "no creds file without netmap_agent_creds_file");

    // Ansible decides systemd from the machine it reaches; under a prefix the role never starts the service.
    const reason = existsSync("/run/systemd/system") ? `staged under ${prefix}, where systemd does not look` : "no systemd";
    assert.ok(result.stdout.includes(`installed, not started: ${reason}`), result.stdout);
    assert.match(result.stdout, /"msg": "netmap-agent \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, node v24\.\d+\.\d+, linux-x64\)"/);
  });

  test("a second run, and a check-mode run, change nothing", async () => {
    for (const extra of [[], ["--check", "--diff"]]) {
      const result = await playbook(...extra);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(recap(result.stdout, "target"), /changed=0 .*failed=0/, `${extra.join(" ")}\n${result.stdout}`);
    }
  });

  test("with a creds file, installs it root-only and the drop-in that hands it to the service", async () => {
    const creds = join(chain.dir, "agent.creds");
    writeFileSync(creds, "-----BEGIN NATS USER JWT-----\nfake\n------END NATS USER JWT------\n");
    const result = await playbook("-e", `netmap_agent_creds_file=${creds}`);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const installed = join(prefix, "etc/netmap/nats.creds");
    const dropIn = join(prefix, "etc/systemd/system/netmap-agent.service.d/nats-creds.conf");
    assert.deepEqual([mode(installed), mode(dropIn)], ["0600", "0644"]);
    assert.equal(readFileSync(installed, "utf8"), readFileSync(creds, "utf8"));
    assert.match(readFileSync(dropIn, "utf8"), /^\[Service\]\nLoadCredential=nats\.creds:\/etc\/netmap\/nats\.creds\nEnvironment=NETMAP_NATS_CREDS=%d\/nats\.creds\n$/m);
  });

  test("with netmap_agent_mint_nkey the collector mints the host an nkey, installed 0600 with its agent id, and the seed is nowhere in Ansible's output", async () => {
    const minting = join(prefix, "minting");
    const mint = (...extra: string[]) => ansiblePlaybook("-v", "-e", `netmap_agent_nats_url=${NATS_URL}`, "-e", `netmap_agent_prefix=${minting}`, "-e", "netmap_agent_mint_nkey=true", "-e", JSON.stringify({ netmap_agent_netmap_command: [process.execPath, MAIN] }), ...extra);
    const result = await mint();
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);

    const nkey = join(minting, "etc/netmap/nats.nk");
    const dropIn = join(minting, "etc/systemd/system/netmap-agent.service.d/nats-nkey.conf");
    assert.deepEqual([mode(nkey), mode(dropIn)], ["0600", "0644"]);
    const seed = readFileSync(nkey, "utf8").trim();
    assert.match(seed, /^SU[A-Z2-7]{56}$/);
    const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    let identities;
    try {
      identities = (await sql.query("SELECT host, agent_id, public_key FROM agent_identities")).rows;
    } finally {
      await sql.end();
    }
    assert.equal(identities.length, 1);
    const [{ host, agent_id: agentId, public_key: listed }] = identities;
    assert.deepEqual([host, listed], ["lab/ns/target", publicKey]);
    assert.ok(readFileSync(authFile, "utf8").includes(`{ nkey: "${publicKey}"`), "nats-server is given the host's public key");
    assert.equal(readFileSync(join(minting, "etc/netmap/agent.yaml"), "utf8").split("\n").filter((l) => !l.startsWith("#")).join("\n"), `agent_id: "${agentId}"\nnats:\n  url: "${NATS_URL}"\n  nkey: /etc/netmap/nats.nk\n`);
    assert.match(readFileSync(dropIn, "utf8"), /^\[Service\]\nLoadCredential=nats\.nk:\/etc\/netmap\/nats\.nk\nEnvironment=NETMAP_NATS_NKEY=%d\/nats\.nk\n$/m);
    assert.ok(result.stdout.includes(`minted NATS nkey ${publicKey} for agent id ${agentId}`), result.stdout);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(seed), "the seed is in Ansible's output");

    // A host with its nkey keeps it; renewing mints another and nats-server forgets the old one.
    const again = await mint();
    assert.match(recap(again.stdout, "target"), /changed=0 .*failed=0/, again.stdout);
    assert.equal(readFileSync(nkey, "utf8").trim(), seed);
    const renewed = await mint("-e", "netmap_agent_mint_nkey_renew=true");
    assert.equal(renewed.code, 0, `${renewed.stdout}\n${renewed.stderr}`);
    const newSeed = readFileSync(nkey, "utf8").trim();
    assert.notEqual(newSeed, seed);
    assert.ok(!`${renewed.stdout}${renewed.stderr}`.includes(newSeed), "the renewed seed is in Ansible's output");
    const auth = readFileSync(authFile, "utf8");
    assert.ok(auth.includes(fromSeed(new TextEncoder().encode(newSeed)).getPublicKey()) && !auth.includes(publicKey), auth);
  });

  test("a failed mint stops the host with the collector's reason and installs no nkey", async () => {
    const result = await ansiblePlaybook("-e", `netmap_agent_nats_url=${NATS_URL}`, "-e", `netmap_agent_prefix=${prefix}/refused`, "-e", "netmap_agent_mint_nkey=true", "-e", "netmap_agent_mint_host=lab/ns/nowhere",
      "-e", JSON.stringify({ netmap_agent_netmap_command: [process.execPath, MAIN] }));
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stdout, /netmap agent mint lab\/ns\/nowhere failed \(exit 1\): .*nowhere/);
    assert.equal(existsSync(join(prefix, "refused/etc/netmap/nats.nk")), false);
  });

  test("without the NATS URL the playbook stops before touching the host, and says which variable", async () => {
    const result = await ansiblePlaybook("-e", `netmap_agent_prefix=${prefix}/none`);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stdout, /netmap_agent_nats_url is required/);
    assert.equal(existsSync(join(prefix, "none")), false);
  });
});

describe("deploy/ansible", () => {
  test("passes ansible-lint's production profile", async () => {
    const home = mkdtempSync(join(tmpdir(), "netmap-ansible-lint-"));
    try {
      const result = await run("ansible-lint", ["--nocolor", "--profile", "production", "deploy/ansible"], { PATH: process.env.PATH!, HOME: home, ANSIBLE_HOME: join(home, "ansible") });
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
