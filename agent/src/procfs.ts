// Pure parsers for the /proc text the agent reads (and /etc/os-release).
// Reading happens in source.ts; these only turn text into values, so tests
// feed them recorded text.

/** Aggregate CPU time from the "cpu" line of /proc/stat, in USER_HZ ticks. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  cpu: CpuTimes;
  /** Online logical CPUs: the cpuN lines. */
  cpuCount: number;
  /** Each cpuN line's ticks, in file order. */
  perCpu: { cpu: number; times: CpuTimes }[];
  /** Boot time, seconds since the epoch (btime). */
  bootTime: number;
}

export function parseProcStat(text: string): ProcStat {
  let cpu: CpuTimes | undefined;
  const perCpu: ProcStat["perCpu"] = [];
  let bootTime = 0;
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const key = fields[0];
    if (key === "cpu") {
      cpu = cpuTimes(fields);
    } else if (key !== undefined && /^cpu\d+$/.test(key)) {
      perCpu.push({ cpu: Number(key.slice(3)), times: cpuTimes(fields) });
    } else if (key === "btime") {
      bootTime = Number(fields[1]);
    }
  }
  if (!cpu) throw new Error("/proc/stat has no cpu line");
  return { cpu, cpuCount: perCpu.length, perCpu, bootTime };
}

function cpuTimes(fields: string[]): CpuTimes {
  // guest and guest_nice are already counted in user and nice.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields.slice(1).map(Number);
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

export interface LoadAverage {
  load1: number;
  load5: number;
  load15: number;
}

export function parseLoadAverage(text: string): LoadAverage {
  const [load1, load5, load15] = text.trim().split(/\s+/).map(Number);
  if (load1 === undefined || load5 === undefined || load15 === undefined || [load1, load5, load15].some(Number.isNaN)) {
    throw new Error(`unexpected /proc/loadavg: ${JSON.stringify(text)}`);
  }
  return { load1, load5, load15 };
}

/** /proc/meminfo as a map of field → value in the file's unit (kB for most). */
export function parseMeminfo(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^([^:]+):\s+(\d+)/.exec(line);
    if (match) fields[match[1]!] = Number(match[2]);
  }
  return fields;
}

/** /proc/uptime: seconds since boot. */
export function parseUptime(text: string): number {
  const seconds = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(seconds)) throw new Error(`unexpected /proc/uptime: ${JSON.stringify(text)}`);
  return seconds;
}

export interface MountEntry {
  mountpoint: string;
  device: string;
  fsType: string;
}

/**
 * /proc/self/mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".
 * Paths escape space, tab, newline and backslash as octal (\040).
 */
export function parseMountinfo(text: string): MountEntry[] {
  const mounts: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const left = before.split(" ");
    const right = after.split(" ");
    const mountpoint = left[4];
    const fsType = right[0];
    const device = right[1];
    if (mountpoint === undefined || fsType === undefined || device === undefined) continue;
    mounts.push({ mountpoint: unescapeOctal(mountpoint), device: unescapeOctal(device), fsType });
  }
  return mounts;
}

function unescapeOctal(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export type SocketProtocol = "tcp" | "udp";

export interface ProcNetSocket {
  protocol: SocketProtocol;
  address: string;
  port: number;
  /** Kernel socket state: 0A is TCP LISTEN, 07 is CLOSE (an unconnected UDP socket). */
  state: string;
  remoteAddress: string;
  remotePort: number;
  inode: number;
}

/**
 * One of /proc/net/{tcp,tcp6,udp,udp6}. Addresses are hex in the kernel's byte
 * order, which is little-endian on every architecture the agent ships for
 * (x64, arm64): IPv4 is one 32-bit word, IPv6 four of them.
 */
export function parseProcNet(text: string, protocol: SocketProtocol): ProcNetSocket[] {
  const sockets: ProcNetSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [local, remote, state] = [fields[1]!, fields[2]!, fields[3]!];
    const [localHex, localPort] = local.split(":");
    const [remoteHex, remotePort] = remote.split(":");
    if (!localHex || !localPort || !remoteHex || !remotePort) continue;
    sockets.push({
      protocol,
      address: decodeAddress(localHex),
      port: parseInt(localPort, 16),
      state: state.toUpperCase(),
      remoteAddress: decodeAddress(remoteHex),
      remotePort: parseInt(remotePort, 16),
      inode: Number(fields[9]),
    });
  }
  return sockets;
}

/**
 * The kernel lists a TCP table's listening sockets first (its listening hash,
 * then the established hash), so a reader may stop at the first row in another
 * state. SYN_RECV (03) rows do not end the listeners: kernels before 4.4 listed
 * pending connections among their listener's rows. The header is no row.
 */
export function endsTcpListeners(line: string): boolean {
  const fields = line.trim().split(/\s+/);
  if (!/^\d+:$/.test(fields[0] ?? "")) return false;
  const state = fields[3]?.toUpperCase();
  return state !== undefined && state !== "0A" && state !== "03";
}

/** Sockets that wait for peers: TCP in LISTEN, UDP bound but not connected. */
export function isListening(socket: ProcNetSocket): boolean {
  if (socket.protocol === "tcp") return socket.state === "0A";
  return socket.state === "07" && socket.remotePort === 0;
}

function decodeAddress(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const chunk = hex.slice(word, word + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(chunk.slice(i, i + 2), 16));
  }
  return bytes.length === 4 ? bytes.join(".") : formatIpv6(bytes);
}

/** RFC 5952 text: the longest run of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i > 1) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** /sys/block/<dev>/stat: the read and write sector counts (512-byte units, whatever the device's sector size). */
export function parseBlockStat(text: string): { readBytes: number; writeBytes: number } {
  const fields = text.trim().split(/\s+/).map(Number);
  return { readBytes: (fields[2] ?? 0) * 512, writeBytes: (fields[6] ?? 0) * 512 };
}

/**
 * os-release(5): distribution from NAME, release as systeminformation (which
 * the agent used before) gave it: PRETTY_NAME less the name and the
 * "(codename)" ("Debian GNU/Linux 12 (bookworm)" → "12", "Ubuntu 22.04.3 LTS"
 * → "22.04.3 LTS"), else VERSION, else VERSION_ID.
 */
export function parseOsRelease(text: string): { distribution: string; release: string } {
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) fields[match[1]!] = unquote(match[2]!);
  }
  const distribution = fields.NAME || fields.ID || "Linux";
  const pretty = fields.PRETTY_NAME ?? "";
  const version = pretty.startsWith(`${distribution} `) ? pretty.slice(distribution.length + 1) : (fields.VERSION ?? "");
  const release = version.split("(")[0]!.trim() || fields.VERSION_ID || "";
  return { distribution, release };
}

/** A shell-style value: double or single quotes, backslash escapes inside double quotes. */
function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v;
}

// ARM64's /proc/cpuinfo names no model, only implementer and part numbers;
// lscpu decodes them from a table like this one (the cores servers run on).
const ARM_IMPLEMENTERS: Record<string, string> = { "0x41": "ARM", "0x61": "Apple", "0xc0": "Ampere" };
const ARM_PARTS: Record<string, string> = {
  "0x41 0xd03": "Cortex-A53", "0x41 0xd04": "Cortex-A35", "0x41 0xd05": "Cortex-A55", "0x41 0xd07": "Cortex-A57",
  "0x41 0xd08": "Cortex-A72", "0x41 0xd09": "Cortex-A73", "0x41 0xd0a": "Cortex-A75", "0x41 0xd0b": "Cortex-A76",
  "0x41 0xd0c": "Neoverse-N1", "0x41 0xd0d": "Cortex-A77", "0x41 0xd40": "Neoverse-V1", "0x41 0xd41": "Cortex-A78",
  "0x41 0xd49": "Neoverse-N2", "0x41 0xd4f": "Neoverse-V2", "0x41 0xd8e": "Neoverse-N3", "0xc0 0xac3": "Ampere-1", "0xc0 0xac4": "Ampere-1a",
};

/**
 * /proc/cpuinfo: the model name, and physical cores as distinct (physical id,
 * core id) pairs. Without those fields (ARM64, some hypervisors) every
 * logical CPU counts as a core.
 */
export function parseCpuinfo(text: string): { model: string; physicalCores: number } {
  const cores = new Set<string>();
  let processors = 0;
  let model = "";
  let implementer = "";
  let part = "";
  for (const block of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(block)?.[1]?.trim();
    if (field("processor") === undefined) continue;
    processors++;
    model ||= field("model name") ?? "";
    implementer ||= field("CPU implementer")?.toLowerCase() ?? "";
    part ||= field("CPU part")?.toLowerCase() ?? "";
    const [packageId, coreId] = [field("physical id"), field("core id")];
    if (packageId !== undefined && coreId !== undefined) cores.add(`${packageId} ${coreId}`);
  }
  if (!model && implementer) model = [ARM_IMPLEMENTERS[implementer] ?? `implementer ${implementer}`, ARM_PARTS[`${implementer} ${part}`] ?? (part && `part ${part}`)].filter(Boolean).join(" ");
  return { model, physicalCores: cores.size || processors };
}
