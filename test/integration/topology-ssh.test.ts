// Real OpenSSH through two bastions, each host in its own network namespace:
// the test (root ns) reaches bastion1 only, bastion1 reaches bastion2, bastion2 the target.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { inventoryOf } from "../../collector/src/topology/service.ts";
import { chainAddress, createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { rootHome } from "../helpers/sshd.ts";

const MAIN = new URL("../../collector/src/main.ts", import.meta.url).pathname;
describe("netmap ssh through a bastion chain (network namespaces, real sshd)", () => {
  let chain: SshChain;
  let env: Record<string, string>;
  let topologyFile: string;

  before(async () => {
    // Root, iproute2 and openssh-server are what this test needs (.ci/run installs them): fail, never skip.
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    chain = await createSshChain();
    // The user's keys come from their agent, as they would with a plain ssh.
    env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", SSH_AUTH_SOCK: chain.authSocket, NETMAP_KNOWN_HOSTS: join(chain.dir, "netmap", "known_hosts") };
    topologyFile = join(chain.dir, "topology.yaml");
    writeFileSync(topologyFile, chain.topologyYaml);
  });

  after(async () => {
    await chain?.close();
  });

  const netmap = (...args: string[]) => {
    const result = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 30_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const fingerprint = (publicKey: string) => /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-l", "-f", publicKey], { encoding: "utf8" }))![1]!;

  test("each namespace routes only to its neighbours, so the target is reachable only through the chain", () => {
    // Asked of the routing tables, so no packet leaves for an address outside the test's subnets.
    const route = (ns: string, address: string) => spawnSync("ip", ["-n", ns, "route", "get", address], { encoding: "utf8" });
    assert.notEqual(route(chain.hosts.bastion1.ns, chain.hosts.target.address).status, 0, "bastion1 has no route to the target");
    assert.notEqual(route(chain.hosts.target.ns, chain.hosts.bastion1.address).status, 0, "the target has no route to bastion1");
    assert.equal(route(chain.hosts.bastion2.ns, chain.hosts.target.address).status, 0, "bastion2 reaches the target");
  });

  test("netmap route prints the hop chain, one hop a line", () => {
    const { code, stdout } = netmap("route", "--topology", topologyFile, "target");
    assert.equal(code, 0);
    assert.equal(stdout, `lab/ns/bastion1\troot@${chainAddress(1)}\nlab/ns/bastion2\troot@${chainAddress(2)}\nlab/ns/target\troot@${chainAddress(3)}\n`);
  });

  test("netmap ssh target -- CMD runs on the target through both bastions and pins every hop's key", () => {
    const { code, stdout, stderr } = netmap("ssh", "--topology", topologyFile, "target", "--", "hostname", "-I");
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), chain.hosts.target.address);
    const knownHosts = readFileSync(env.NETMAP_KNOWN_HOSTS!, "utf8");
    for (const name of ["bastion1", "bastion2", "target"] as const) {
      assert.match(knownHosts, new RegExp(`^lab\\.ns\\.${name} ssh-ed25519 `, "m"));
    }
  });

  test("netmap ssh applies the user's own ssh_config (IdentityFile under Host *) at every hop, not only the target", () => {
    // ssh expands the ~ of `Include ~/.ssh/config` from the password database, not $HOME: the user's
    // home is a directory of the test's, bind-mounted over root's home in a mount namespace of its own.
    const home = join(chain.dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    const asUser = (sshConfig: string) => {
      writeFileSync(join(home, ".ssh", "config"), sshConfig);
      // No agent: the key can only come from the user's config.
      const { SSH_AUTH_SOCK: _, ...noAgent } = env;
      const argv = [process.execPath, MAIN, "ssh", "--topology", topologyFile, "target", "--", "hostname", "-I"];
      return spawnSync("unshare", ["--mount", "--", "sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", home, rootHome(), ...argv], {
        env: noAgent, encoding: "utf8", timeout: 30_000,
      });
    };
    const withoutKey = asUser("Host *\n  BatchMode yes\n");
    assert.notEqual(withoutKey.status, 0, "without the user's key no hop lets us in");
    assert.match(withoutKey.stderr, /Permission denied \(publickey\)/);
    const withKey = asUser(`Host *\n  IdentityFile ${chain.clientKey}\n  IdentitiesOnly yes\n  BatchMode yes\n`);
    assert.equal(withKey.status, 0, withKey.stderr);
    assert.equal(withKey.stdout.trim(), chain.hosts.target.address);
  });

  test("a replaced host key on the middle bastion is refused, showing both fingerprints; netmap trust re-learns it", async () => {
    const pinned = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    await chain.replaceHostKey("bastion2");
    const offered = fingerprint(`${chain.hosts.bastion2.hostKey}.pub`);
    assert.notEqual(pinned, offered);

    const refused = netmap("ssh", "--topology", topologyFile, "target", "--", "hostname", "-I");
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "", "nothing ran on the target");
    assert.match(refused.stderr, /host key of lab\/ns\/bastion2 has changed; connection refused/);
    assert.ok(refused.stderr.includes(`pinned:  ${pinned} (ED25519)`), refused.stderr);
    assert.ok(refused.stderr.includes(`offered: ${offered} (ED25519)`), refused.stderr);
    assert.match(refused.stderr, /netmap trust lab\/ns\/bastion2/);

    const trusted = netmap("trust", "--topology", topologyFile, "bastion2");
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.stdout, `forgot lab/ns/bastion2: ${pinned} (ED25519)\ntrusted lab/ns/bastion2: ${offered} (ED25519)\n`);

    const again = netmap("ssh", "--topology", topologyFile, "target", "--", "hostname", "-I");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), chain.hosts.target.address);
  });

  test("route errors name the hosts and nothing runs", () => {
    const broken = join(chain.dir, "broken.yaml");
    writeFileSync(
      broken,
      readFileSync(topologyFile, "utf8").replace("via: bastion2", "via: bastion9").replace("          - name: bastion2\n", "          - name: bastion2\n            via: target\n"),
    );
    const { code, stderr } = netmap("ssh", "--topology", broken, "target", "--", "true");
    assert.equal(code, 1);
    assert.match(stderr, /lab\/ns\/target: via "bastion9" is not a host of lab\/ns/);
    const noAddress = join(chain.dir, "no-address.yaml");
    writeFileSync(noAddress, readFileSync(topologyFile, "utf8").replace(`            address: ${chain.hosts.bastion2.address}\n`, ""));
    const second = netmap("route", "--topology", noAddress, "target");
    assert.equal(second.code, 1);
    assert.match(second.stderr, /lab\/ns\/bastion2: has no address, but target is reached through it/);
  });

  test("ansible -m ping reaches the target through both bastions with NetMap's inventory", () => {
    // The inventory the collector serves (GET /api/v1/inventory/ansible, netmap inventory), for this topology,
    // given to Ansible the way a dynamic inventory is: a script printing it for --list.
    const inventory = inventoryOf(parseTopologyFile(readFileSync(topologyFile, "utf8"), topologyFile));
    assert.equal((inventory._meta.hostvars.target as Record<string, unknown>).ansible_ssh_common_args, `-o ProxyJump=root@${chainAddress(1)}:22,root@${chainAddress(2)}:22`);
    const inventoryJson = join(chain.dir, "inventory.json");
    writeFileSync(inventoryJson, JSON.stringify(inventory));
    const script = join(chain.dir, "inventory.sh");
    writeFileSync(script, `#!/bin/sh\nexec cat '${inventoryJson}'\n`, { mode: 0o755 });
    // Host key checking stays on, against the chain's keys only.
    const sshConfig = chain.writeStrictSshConfig();
    const ansibleHome = join(chain.dir, "ansible");
    mkdirSync(ansibleHome, { recursive: true });
    const result = spawnSync("ansible", ["-i", script, "target", "-m", "ping", "-o"], {
      env: {
        ...env,
        ANSIBLE_SSH_ARGS: `-F ${sshConfig}`,
        ANSIBLE_HOME: ansibleHome,
        ANSIBLE_LOCAL_TEMP: join(ansibleHome, "tmp"),
        ANSIBLE_PIPELINING: "True",
        ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
        ANSIBLE_NOCOLOR: "1",
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^target \| SUCCESS => .*"ping": "pong"/m);
  });
});
