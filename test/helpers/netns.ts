// A chain of network namespaces, each with its own sshd, for tests of SSH through
// bastions: root ns ⇄ nm-bastion1 ⇄ nm-bastion2 ⇄ nm-target, one veth pair and
// one /24 subnet per link, no routing between non-adjacent namespaces,
// so each host is reachable only from the one before it. Needs root, `ip`,
// /usr/sbin/sshd and ssh-keygen. Everything is named with PREFIX and this
// process's pid (nmt<pid>-…), each sshd in a UTS namespace with the host's name as hostname,
// and addressed in 10.<SUBNET>.N.0/24 with SUBNET free in the root namespace (subnet.ts),
// so two test runs at once do not meet; a run that crashed (its pid gone) is cleaned up by the next one.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeSecondOctet } from "./subnet.ts";

const PREFIX = "nmt";
const RUN = `${PREFIX}${process.pid}`;
/** Second octet of this run's subnets, 100–199. */
const SUBNET = freeSecondOctet(100, 100);
/** The address of a chain host: link n's far end, 10.<SUBNET>.<n>.2 (the near end is .1). */
export const chainAddress = (link: 1 | 2 | 3, end: 1 | 2 = 2) => `10.${SUBNET}.${link}.${end}`;
const SSHD = "/usr/sbin/sshd";

export interface NetnsHost {
  ns: string;
  /** What `hostname` says on the host: each sshd runs in a UTS namespace of its own. */
  hostname: string;
  address: string;
  hostKey: string;
  sshd: ChildProcess | undefined;
}

export interface SshChain {
  dir: string;
  clientKey: string;
  /** An ssh-agent holding clientKey, as a user's keys come from their agent: SSH_AUTH_SOCK. */
  authSocket: string;
  /** A topology file declaring the chain: client lab, site ns behind bastion1, target via bastion2, user root. */
  topologyYaml: string;
  hosts: Record<"bastion1" | "bastion2" | "target", NetnsHost>;
  /**
   * An ssh_config for ssh run outside NetMap (Ansible): strict host key checking against
   * every hop's key as it is now, under its address, and nothing else trusted. A config
   * file, because ProxyJump's hops are separate ssh processes that get -F but not -o.
   */
  writeStrictSshConfig(): string;
  /** Replaces a host's key and restarts its sshd. */
  replaceHostKey(name: keyof SshChain["hosts"]): Promise<void>;
  close(): Promise<void>;
}

/** Why the chain cannot be built here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for network namespaces";
  if (!existsSync(SSHD)) return `${SSHD} missing (apt-get install openssh-server)`;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
  } catch {
    return "`ip netns` unavailable";
  }
  return undefined;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether name (prefix<pid>-…) belongs to this run or to one whose process is gone, not to a run still going. */
function leftOver(prefix: string, name: string): boolean {
  const pid = new RegExp(`^${prefix}(\\d+)-`).exec(name)?.[1];
  if (pid === undefined) return false;
  if (Number(pid) === process.pid) return true;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch {
    return true;
  }
}

/** Removes this run's namespaces and root-side veths, and those of runs that are gone (their sshds die with the namespace's processes). */
export function cleanupLeftovers(): void {
  cleanupRuns(PREFIX);
}

/**
 * Removes the namespaces and root-side links named `<prefix><pid>-…` of this run and of runs
 * whose process is gone, killing what runs in those namespaces first.
 */
export function cleanupRuns(prefix: string): void {
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((name) => leftOver(prefix, name));
  for (const ns of namespaces) {
    try {
      const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {}
      }
    } catch {}
    try {
      ip("netns", "delete", ns);
    } catch {}
  }
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  for (const m of links.matchAll(new RegExp(`^\\d+: (${prefix}\\d+-[^@:]+)`, "gm"))) {
    if (!leftOver(prefix, m[1]!)) continue;
    try {
      ip("link", "delete", m[1]!);
    } catch {}
  }
}

export async function createSshChain(): Promise<SshChain> {
  cleanupLeftovers();
  const dir = mkdtempSync(join(tmpdir(), "netmap-netns-"));
  chmodSync(dir, 0o755);
  const clientKey = join(dir, "client_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "netmap-test", "-f", clientKey]);
  writeFileSync(join(dir, "authorized_keys"), execFileSync("cat", [`${clientKey}.pub`]), { mode: 0o600 });

  const hosts: SshChain["hosts"] = {
    bastion1: { ns: `${RUN}-bastion1`, hostname: `${RUN}-bastion1`, address: chainAddress(1), hostKey: join(dir, "bastion1_host"), sshd: undefined },
    bastion2: { ns: `${RUN}-bastion2`, hostname: `${RUN}-bastion2`, address: chainAddress(2), hostKey: join(dir, "bastion2_host"), sshd: undefined },
    target: { ns: `${RUN}-target`, hostname: `${RUN}-target`, address: chainAddress(3), hostKey: join(dir, "target_host"), sshd: undefined },
  };

  const authSocket = join(dir, "agent.sock");
  let sshAgent: ChildProcess | undefined;
  const chain: SshChain = {
    dir,
    clientKey,
    authSocket,
    topologyYaml: `clients:
  - name: lab
    sites:
      - name: ns
        bastion: bastion1
        hosts:
          - name: bastion1
            address: ${hosts.bastion1.address}
            ssh: { user: root }
          - name: bastion2
            address: ${hosts.bastion2.address}
            ssh: { user: root }
          - name: target
            address: ${hosts.target.address}
            via: bastion2
            ssh: { user: root }
`,
    hosts,
    writeStrictSshConfig: () => {
      const knownHosts = join(dir, "strict_known_hosts");
      writeFileSync(
        knownHosts,
        Object.values(hosts)
          .map((host) => `${host.address} ${readFileSync(`${host.hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`)
          .join(""),
      );
      const config = join(dir, "strict_ssh_config");
      writeFileSync(config, `Host *\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n`);
      return config;
    },
    replaceHostKey: async (name) => {
      const host = hosts[name];
      await stopSshd(host);
      rmSync(host.hostKey, { force: true });
      rmSync(`${host.hostKey}.pub`, { force: true });
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", host.hostKey]);
      host.sshd = await startSshd(dir, name, host);
    },
    close: async () => {
      sshAgent?.kill();
      for (const host of Object.values(hosts)) await stopSshd(host);
      cleanupLeftovers();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    for (const host of Object.values(hosts)) {
      ip("netns", "add", host.ns);
      ip("-n", host.ns, "link", "set", "lo", "up");
    }
    // root ⇄ bastion1 (link 1), bastion1 ⇄ bastion2 (link 2), bastion2 ⇄ target (link 3)
    link(undefined, chainAddress(1, 1), hosts.bastion1.ns, hosts.bastion1.address, "1");
    link(hosts.bastion1.ns, chainAddress(2, 1), hosts.bastion2.ns, hosts.bastion2.address, "2");
    link(hosts.bastion2.ns, chainAddress(3, 1), hosts.target.ns, hosts.target.address, "3");
    for (const [name, host] of Object.entries(hosts)) {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", host.hostKey]);
      (host as NetnsHost).sshd = await startSshd(dir, name, host);
    }
    sshAgent = spawn("ssh-agent", ["-D", "-a", authSocket], { stdio: "ignore" });
    const agentEnv = { PATH: process.env.PATH, SSH_AUTH_SOCK: authSocket };
    for (let i = 0; i < 50 && spawnSync("ssh-add", ["-l"], { env: agentEnv }).status === 2; i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync("ssh-add", ["-q", clientKey], { env: agentEnv, stdio: "ignore" });
  } catch (error) {
    await chain.close();
    throw error;
  }
  return chain;
}

function link(leftNs: string | undefined, leftAddress: string, rightNs: string, rightAddress: string, n: string): void {
  const left = `${RUN}-l${n}`;
  const right = `${RUN}-r${n}`;
  ip("link", "add", left, "type", "veth", "peer", "name", right);
  if (leftNs) ip("link", "set", left, "netns", leftNs);
  ip("link", "set", right, "netns", rightNs);
  const inLeft = leftNs ? ["-n", leftNs] : [];
  ip(...inLeft, "addr", "add", `${leftAddress}/24`, "dev", left);
  ip(...inLeft, "link", "set", left, "up");
  ip("-n", rightNs, "addr", "add", `${rightAddress}/24`, "dev", right);
  ip("-n", rightNs, "link", "set", right, "up");
}

async function startSshd(dir: string, name: string, host: NetnsHost): Promise<ChildProcess> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  const config = join(dir, `${name}_sshd_config`);
  writeFileSync(
    config,
    [
      `ListenAddress ${host.address}:22`,
      `HostKey ${host.hostKey}`,
      `PidFile ${join(dir, `${name}.pid`)}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AllowTcpForwarding yes",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  // -D: stay in the foreground, so the test owns the process; -e: log to stderr.
  // A UTS namespace too, so the host has a name of its own; unshare and sh exec, so the pid is sshd's.
  const sshd = spawn("ip", ["netns", "exec", host.ns, "unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', host.hostname, SSHD, "-D", "-e", "-f", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let errors = "";
  sshd.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  // Ready when the port accepts a connection from inside the namespace.
  for (let i = 0; i < 100; i++) {
    if (sshd.exitCode !== null) throw new Error(`sshd in ${host.ns} exited: ${errors}`);
    try {
      execFileSync("ip", ["netns", "exec", host.ns, "bash", "-c", `exec 3<>/dev/tcp/${host.address}/22`], { stdio: "ignore" });
      return sshd;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  sshd.kill("SIGKILL");
  throw new Error(`sshd in ${host.ns} did not start listening: ${errors}`);
}

async function stopSshd(host: NetnsHost): Promise<void> {
  const sshd = host.sshd;
  host.sshd = undefined;
  if (!sshd || sshd.exitCode !== null) return;
  const exited = new Promise((r) => sshd.once("exit", r));
  sshd.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  if (sshd.exitCode === null) sshd.kill("SIGKILL");
}
