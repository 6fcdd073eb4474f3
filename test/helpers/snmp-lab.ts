// Network devices for SNMP tests: each one a network namespace running Debian's snmpd (v2c
// community and a v3 authPriv user, `master agentx`) and optionally lldpd as its AgentX
// sub-agent, reached from the root namespace over its own management veth
// (10.<SUBNET>.<n>.2). Devices can be cabled together: each cable is two veth pairs through a
// bridge in a "wire" namespace (forwarding LLDP's group address), so lldpd on each end hears
// the other, and cutting the cable there leaves both ends admin up and oper down.
// Names carry PREFIX and this process's pid (nms<pid>-…); a lab whose process is gone is
// removed by the next one, and close() removes this one's in every outcome.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeSecondOctet } from "./subnet.ts";
import { cleanupRuns } from "./netns.ts";

const PREFIX = "nms";
const RUN = `${PREFIX}${process.pid}`;
/** Second octet of this run's subnets, 200–249 (the SSH chain of netns.ts uses 100–199). */
const SUBNET = freeSecondOctet(200, 50);

export const SNMP_COMMUNITY = "netmap-lab";
export const SNMP_V3 = { user: "netmapv3", authPassword: "auth-pass-123", privPassword: "priv-pass-123" } as const;

export interface LabDevice {
  name: string;
  ns: string;
  address: string;
  snmpd: ChildProcess | undefined;
  lldpd: ChildProcess | undefined;
}

export interface LabLink {
  /** The interface names at each end, inside the two devices' namespaces. */
  a: { device: string; ifname: string };
  b: { device: string; ifname: string };
}

export interface SnmpLab {
  dir: string;
  devices: LabDevice[];
  links: LabLink[];
  /** Sets one end of a link administratively down or up (the other end loses its carrier). */
  setLink(device: string, ifname: string, up: boolean): void;
  /** Cuts link `index` (0-based) in the wire, or mends it: both ends stay admin up. */
  cutLink(index: number, cut: boolean): void;
  /** Stops a device's snmpd and starts it again (its sysUpTime starts over). */
  restartSnmpd(device: string): Promise<void>;
  close(): Promise<void>;
}

export function snmpLabUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for network namespaces";
  for (const program of ["/usr/sbin/snmpd", "/usr/sbin/lldpd"]) if (!existsSync(program)) return `${program} missing (apt-get install snmpd lldpd)`;
  return undefined;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Removes this run's namespaces and veths, and those of runs whose process is gone. */
export function cleanupSnmpLabs(): void {
  cleanupRuns(PREFIX);
}

export interface LabOptions {
  devices: number;
  /** Pairs of device numbers (1-based) joined by a veth pair. */
  links?: Array<[number, number]>;
  lldp?: boolean;
  /** Extra lines for every snmpd.conf (a `pass` script). */
  snmpdExtra?: string[];
  /** Extra snmpd arguments (`-I -interfaces`). */
  snmpdArgs?: string[];
  /** Veth pairs made inside each device before its snmpd starts (more interfaces to walk). */
  innerVethPairs?: number;
}

export async function createSnmpLab(options: LabOptions): Promise<SnmpLab> {
  cleanupSnmpLabs();
  const dir = mkdtempSync(join(tmpdir(), "netmap-snmp-"));
  // lldpd's unprivileged child opens its control socket and the AgentX socket in here.
  chmodSync(dir, 0o755);
  const devices: LabDevice[] = Array.from({ length: options.devices }, (_, i) => ({
    name: `dev${i + 1}`, ns: `${RUN}-dev${i + 1}`, address: `10.${SUBNET}.${i + 1}.2`, snmpd: undefined, lldpd: undefined,
  }));
  const links: LabLink[] = [];
  const wire = `${RUN}-wire`;
  const lab: SnmpLab = {
    dir, devices, links,
    setLink: (device, ifname, up) => ip("-n", devices.find((d) => d.name === device)!.ns, "link", "set", ifname, up ? "up" : "down"),
    restartSnmpd: async (name) => {
      const d = devices.find((x) => x.name === name)!;
      const old = d.snmpd;
      if (old && old.exitCode === null) {
        const exited = new Promise((r) => old.once("exit", r));
        old.kill("SIGTERM");
        await exited;
      }
      d.snmpd = await startSnmpd(dir, d, options);
    },
    cutLink: (index, cut) => {
      for (const side of ["x", "y"]) ip("-n", wire, "link", "set", `${RUN}-${side}${index + 1}`, cut ? "down" : "up");
    },
    close: async () => {
      for (const d of devices) for (const p of [d.lldpd, d.snmpd]) if (p && p.exitCode === null) p.kill("SIGKILL");
      cleanupSnmpLabs();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    devices.forEach((d, i) => {
      ip("netns", "add", d.ns);
      ip("-n", d.ns, "link", "set", "lo", "up");
      const root = `${RUN}-m${i + 1}`;
      const inside = `${RUN}-n${i + 1}`;
      ip("link", "add", root, "type", "veth", "peer", "name", inside);
      ip("link", "set", inside, "netns", d.ns);
      ip("addr", "add", `10.${SUBNET}.${i + 1}.1/24`, "dev", root);
      ip("link", "set", root, "up");
      ip("-n", d.ns, "addr", "add", `${d.address}/24`, "dev", inside);
      ip("-n", d.ns, "link", "set", inside, "up");
    });
    if (options.links?.length) {
      ip("netns", "add", wire);
      ip("-n", wire, "link", "set", "lo", "up");
    }
    (options.links ?? []).forEach(([from, to], i) => {
      const n = i + 1;
      const a = { device: `dev${from}`, ifname: `${RUN}-a${n}` };
      const b = { device: `dev${to}`, ifname: `${RUN}-b${n}` };
      const bridge = `br${n}`;
      ip("-n", wire, "link", "add", bridge, "type", "bridge");
      // A bridge keeps 01:80:c2:00:00:0e (LLDP) to itself unless told to forward it (bit 14).
      execFileSync("ip", ["netns", "exec", wire, "sh", "-c", `echo 16384 > /sys/class/net/${bridge}/bridge/group_fwd_mask`]);
      ip("-n", wire, "link", "set", bridge, "up");
      for (const [end, side, device] of [[a, "x", from], [b, "y", to]] as const) {
        const inWire = `${RUN}-${side}${n}`;
        ip("link", "add", end.ifname, "type", "veth", "peer", "name", inWire);
        ip("link", "set", end.ifname, "netns", devices[device - 1]!.ns);
        ip("link", "set", inWire, "netns", wire);
        ip("-n", wire, "link", "set", inWire, "master", bridge);
        ip("-n", wire, "link", "set", inWire, "up");
        ip("-n", devices[device - 1]!.ns, "link", "set", end.ifname, "up");
      }
      links.push({ a, b });
    });
    for (const d of devices) {
      for (let i = 1; i <= (options.innerVethPairs ?? 0); i++) {
        ip("-n", d.ns, "link", "add", `port${i}a`, "type", "veth", "peer", "name", `port${i}b`);
        for (const end of ["a", "b"]) ip("-n", d.ns, "link", "set", `port${i}${end}`, "up");
      }
      d.snmpd = await startSnmpd(dir, d, options);
    }
    if (options.lldp) {
      mkdirSync("/run/lldpd", { recursive: true, mode: 0o755 }); // lldpd's privilege-separation chroot
      for (const d of devices) d.lldpd = startLldpd(dir, d, links);
    }
  } catch (error) {
    await lab.close();
    throw error;
  }
  return lab;
}

async function startSnmpd(dir: string, d: LabDevice, options: LabOptions): Promise<ChildProcess> {
  const persistent = join(dir, `${d.name}-persist`);
  mkdirSync(persistent, { recursive: true });
  const config = join(dir, `${d.name}-snmpd.conf`);
  writeFileSync(config, [
    `agentAddress udp:${d.address}:161`,
    `rocommunity ${SNMP_COMMUNITY} default`,
    `createUser ${SNMP_V3.user} SHA-256 "${SNMP_V3.authPassword}" AES "${SNMP_V3.privPassword}"`,
    `rouser ${SNMP_V3.user} priv`,
    `sysName ${d.name}`,
    "master agentx",
    `agentXSocket ${join(dir, `${d.name}-agentx.sock`)}`,
    "agentXPerms 0777 0755",
    ...(options.snmpdExtra ?? []),
    "",
  ].join("\n"));
  const snmpd = spawn("ip", ["netns", "exec", d.ns, "/usr/sbin/snmpd", "-f", "-C", "-c", config, "-Lf", join(dir, `${d.name}-snmpd.log`), "-p", join(dir, `${d.name}-snmpd.pid`), ...(options.snmpdArgs ?? [])], {
    stdio: "ignore",
    // No MIB files are shipped on Debian: load none, everything is numeric.
    env: { ...process.env, MIBS: "", SNMP_PERSISTENT_DIR: persistent },
  });
  for (let i = 0; i < 100; i++) {
    if (snmpd.exitCode !== null) throw new Error(`snmpd in ${d.ns} exited with ${snmpd.exitCode}`);
    if (execFileSync("ip", ["netns", "exec", d.ns, "ss", "-Hulnp"], { encoding: "utf8" }).includes(`${d.address}:161`)) return snmpd;
    await new Promise((r) => setTimeout(r, 50));
  }
  snmpd.kill("SIGKILL");
  throw new Error(`snmpd in ${d.ns} did not start listening`);
}

function startLldpd(dir: string, d: LabDevice, links: LabLink[]): ChildProcess {
  const ifnames = links.flatMap((l) => [l.a, l.b]).filter((end) => end.device === d.name).map((end) => end.ifname);
  const config = join(dir, `${d.name}-lldpd.conf`);
  // A frame a second: a neighbour is heard within a second or two of start.
  writeFileSync(config, `configure system hostname ${d.name}\nconfigure lldp tx-interval 1\n`);
  return spawn("ip", ["netns", "exec", d.ns, "/usr/sbin/lldpd", "-d", "-x", "-X", join(dir, `${d.name}-agentx.sock`), "-u", join(dir, `${d.name}-lldpd.sock`), "-O", config, ...(ifnames.length ? ["-I", ifnames.join(",")] : [])], {
    stdio: ["ignore", "ignore", "ignore"],
  });
}
