// A fleet behind two bastions, for rollouts at WAN scale (npm run bench:rollout and the tests of
// `netmap agent install`): this machine ⇄ bastion1 over a link limited with `tc tbf` (the WAN),
// bastion1 ⇄ bastion2, and N targets on a bridge in bastion2's namespace, each host a network
// namespace with its own sshd. Each host also has its own filesystem under the install prefix:
// its sshd runs in a mount namespace where `prefix` is a bind mount of the host's own directory
// (`rootOf(name)`), so `netmap agent install --prefix PREFIX` writes a separate tree per host and
// the test reads each one from outside. Names come from the pid (nmr<pid>-…) and the subnet is one
// the root namespace does not use (10.<200–249>.x.x, subnet.ts), so runs at once do not meet; a
// crashed run's leftovers go with the next.
// Routed (`routed: true`), the bastions forward and every host reaches this machine's end of the
// WAN (`gateway`), so agents inside report to a server there through their bastions; `cut` takes
// a host off the network and `restore` brings it back, for tests of what a fallen bastion hides.
import { execFileSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeSecondOctet } from "./subnet.ts";
import { cleanupRuns } from "./netns.ts";
import { createClientKey, startSshAgent, startSshd } from "./sshd.ts";

const PREFIX = "nmr";
const RUN = `${PREFIX}${process.pid}`;
const SUBNET = freeSecondOctet(200, 50);

export interface LabHost {
  name: string;
  ns: string;
  /** Where the previous hop reaches it. */
  address: string;
  sshd?: ChildProcess;
}

export interface RolloutLab {
  dir: string;
  /** SSH_AUTH_SOCK of an ssh-agent holding the key every host accepts for root. */
  authSocket: string;
  /** NETMAP_KNOWN_HOSTS for the lab (empty at first: hosts are pinned on first contact). */
  knownHostsFile: string;
  /** A topology file: client lab, site wan behind bastion1, bastion2 via bastion1, targets t01… via bastion2. */
  topologyFile: string;
  /** The --prefix every host installs under; each sees its own directory there. */
  prefix: string;
  hosts: LabHost[];
  /** This machine's end of the WAN link: what every host reaches when the lab is routed. */
  gateway: string;
  /** The directory that is `prefix` inside host `name`. */
  rootOf(name: string): string;
  /** Runs a command inside a host's namespaces (network and mount), as its sshd's sessions do. */
  exec(name: string, command: string[]): string;
  /** Takes down the host's side of the link to the hop before it: it and every host behind it are cut off. */
  cut(name: string): void;
  /** Brings a cut host's link back up, and the routes the kernel dropped with it. */
  restore(name: string): void;
  close(): Promise<void>;
}

export interface RolloutLabOptions {
  targets: number;
  /** tc's rate on the link to bastion1, both ways (e.g. "100mbit"). */
  wanRate: string;
  /** Programs a host goes without (e.g. { t02: ["xz"] }): /dev/null is mounted over them there. */
  without?: Record<string, string[]>;
  /** Bastions forward, and each host routes back to this machine: a server on `gateway` is reached from all of them. */
  routed?: boolean;
}

const address = (link: number, host: number) => `10.${SUBNET}.${link}.${host}`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export async function createRolloutLab(options: RolloutLabOptions): Promise<RolloutLab> {
  cleanupRuns(PREFIX);
  const dir = mkdtempSync(join(tmpdir(), "netmap-rollout-lab-"));
  chmodSync(dir, 0o755);
  const prefix = join(dir, "prefix");
  mkdirSync(prefix);
  const clientKey = createClientKey(dir, "netmap-lab");
  const names = Array.from({ length: options.targets }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
  const hosts: LabHost[] = [
    { name: "bastion1", ns: `${RUN}-b1`, address: address(1, 2) },
    { name: "bastion2", ns: `${RUN}-b2`, address: address(2, 2) },
    ...names.map((name, i) => ({ name, ns: `${RUN}-${name}`, address: address(3, 10 + i) })),
  ];
  const authSocket = join(dir, "agent.sock");
  let sshAgent: ChildProcess | undefined;
  const rootOf = (name: string) => join(dir, "hosts", name);
  const nsOf = (name: string) => hosts.find((h) => h.name === name)!.ns;
  // Each host's link toward this machine, and the routes it holds when routed (re-added on restore:
  // the kernel drops a route with its link going down).
  const uplinks = new Map<string, string>([["bastion1", `${RUN}-w1`], ["bastion2", `${RUN}-l1`], ...names.map((name, i): [string, string] => [name, `${RUN}-q${i}`])]);
  const routes = new Map<string, string[][]>();
  const addRoutes = (name: string) => {
    for (const route of routes.get(name) ?? []) ip("-n", nsOf(name), "route", "replace", ...route);
  };
  const lab: RolloutLab = {
    dir,
    authSocket,
    knownHostsFile: join(dir, "known_hosts"),
    topologyFile: join(dir, "topology.yaml"),
    prefix,
    hosts,
    gateway: address(1, 1),
    rootOf,
    exec: (name, command) =>
      execFileSync("ip", ["netns", "exec", nsOf(name), ...inOwnMounts(rootOf(name), prefix, options.without?.[name] ?? []), ...command], { encoding: "utf8" }),
    cut: (name) => ip("-n", nsOf(name), "link", "set", uplinks.get(name)!, "down"),
    restore: (name) => {
      ip("-n", nsOf(name), "link", "set", uplinks.get(name)!, "up");
      addRoutes(name);
    },
    close: async () => {
      sshAgent?.kill();
      for (const host of hosts) host.sshd?.kill("SIGKILL");
      cleanupRuns(PREFIX);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  writeFileSync(
    lab.topologyFile,
    [
      "clients:",
      "  - name: lab",
      "    sites:",
      "      - name: wan",
      "        bastion: bastion1",
      "        hosts:",
      ...hosts.map((h) => `          - { name: ${h.name}, address: ${h.address}, ssh: { user: root }${h.name === "bastion1" ? "" : `, via: ${h.name === "bastion2" ? "bastion1" : "bastion2"}`} }`),
      "",
    ].join("\n"),
  );

  try {
    for (const host of hosts) {
      ip("netns", "add", host.ns);
      ip("-n", host.ns, "link", "set", "lo", "up");
      mkdirSync(rootOf(host.name), { recursive: true });
    }
    const [b1, b2] = [hosts[0]!.ns, hosts[1]!.ns];
    // The WAN: this machine ⇄ bastion1, limited both ways.
    veth(`${RUN}-w0`, undefined, address(1, 1), `${RUN}-w1`, b1, address(1, 2));
    for (const [ns, dev] of [[undefined, `${RUN}-w0`], [b1, `${RUN}-w1`]] as const) {
      execFileSync("tc", [...(ns ? ["-n", ns] : []), "qdisc", "add", "dev", dev, "root", "tbf", "rate", options.wanRate, "burst", "256kb", "latency", "100ms"]);
    }
    veth(`${RUN}-l0`, b1, address(2, 1), `${RUN}-l1`, b2, address(2, 2));
    // bastion2's LAN: a bridge with one port per target.
    ip("-n", b2, "link", "add", "br0", "type", "bridge");
    ip("-n", b2, "addr", "add", `${address(3, 1)}/24`, "dev", "br0");
    ip("-n", b2, "link", "set", "br0", "up");
    hosts.slice(2).forEach((host, i) => {
      const [near, far] = [`${RUN}-p${i}`, `${RUN}-q${i}`];
      ip("link", "add", near, "type", "veth", "peer", "name", far);
      ip("link", "set", near, "netns", b2);
      ip("-n", b2, "link", "set", near, "master", "br0");
      ip("-n", b2, "link", "set", near, "up");
      ip("link", "set", far, "netns", host.ns);
      ip("-n", host.ns, "addr", "add", `${host.address}/24`, "dev", far);
      ip("-n", host.ns, "link", "set", far, "up");
    });
    if (options.routed) {
      // Out: targets → bastion2 → bastion1 → this machine; back: this machine → bastion1 → bastion2.
      routes.set("bastion1", [[`${address(3, 0)}/24`, "via", address(2, 2)]]);
      routes.set("bastion2", [["default", "via", address(2, 1)]]);
      for (const name of names) routes.set(name, [["default", "via", address(3, 1)]]);
      for (const ns of [b1, b2]) execFileSync("ip", ["netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
      for (const host of hosts) addRoutes(host.name);
      // On this machine, removed with the WAN link by close().
      for (const subnet of [address(2, 0), address(3, 0)]) ip("route", "add", `${subnet}/24`, "via", address(1, 2));
    }
    await Promise.all(hosts.map(async (host) => (host.sshd = await startHostSshd(dir, host, rootOf(host.name), prefix, options.without?.[host.name] ?? []))));
    sshAgent = await startSshAgent(authSocket, clientKey);
  } catch (error) {
    await lab.close();
    throw error;
  }
  return lab;
}

function veth(left: string, leftNs: string | undefined, leftAddress: string, right: string, rightNs: string, rightAddress: string): void {
  ip("link", "add", left, "type", "veth", "peer", "name", right);
  if (leftNs) ip("link", "set", left, "netns", leftNs);
  ip("link", "set", right, "netns", rightNs);
  const inLeft = leftNs ? ["-n", leftNs] : [];
  ip(...inLeft, "addr", "add", `${leftAddress}/24`, "dev", left);
  ip(...inLeft, "link", "set", left, "up");
  ip("-n", rightNs, "addr", "add", `${rightAddress}/24`, "dev", right);
  ip("-n", rightNs, "link", "set", right, "up");
}

/**
 * What runs a command (the arguments after it) in a mount namespace of the host's own, where
 * `prefix` is the host's directory and the programs it goes without are /dev/null.
 */
function inOwnMounts(root: string, prefix: string, without: string[]): string[] {
  const hide = without.map((program) => `mount --bind /dev/null "$(command -v ${program})" && `).join("");
  // sh's $0 and $1 are the bind mount's source and target; shifted off, the rest is the command.
  return ["unshare", "-m", "--propagation", "private", "sh", "-c", `${hide}mount --bind "$0" "$1" && shift && exec "$@"`, root, prefix];
}

/** sshd in the host's network namespace and its own mounts (inOwnMounts). */
function startHostSshd(dir: string, host: LabHost, root: string, prefix: string, without: string[]): Promise<ChildProcess> {
  const hostKey = join(dir, `${host.name}_host`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  return startSshd(dir, { name: host.name, ns: host.ns, address: host.address, hostKey }, inOwnMounts(root, prefix, without));
}
