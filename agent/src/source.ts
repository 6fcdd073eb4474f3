// SystemSource: everything the collectors read from the machine, behind one
// small interface (telegraf's PS idea), so collectors are pure functions of
// what it returns and tests feed them recorded JSON.
//
// Everything comes straight from /proc, /sys, /etc/os-release and statfs; no
// program is spawned. (systeminformation, used before for the OS release and
// CPU model, spawned cat and lscpu for them, and its 600 KiB in the bundle and
// the Node modules it loads cost the agent ~10 MiB of resident memory.)
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statfs } from "node:fs";
import { promisify } from "node:util";
import { arch, hostname, networkInterfaces as osNetworkInterfaces, release as kernelRelease } from "node:os";
import { createSocketOwnerResolver, type SocketOwners } from "./socket-owners.ts";
import { cgroupLimits, readCgroupFiles, type CgroupLimits } from "./cgroup.ts";
import { containerCgroup, readContainerUsage, type ContainerCgroup, type ContainerUsage } from "./container-usage.ts";
import {
  endsTcpListeners,
  isListening,
  parseBlockStat,
  parseLoadAverage,
  parseMeminfo,
  parseCpuinfo,
  parseMountinfo,
  parseOsRelease,
  parseProcNet,
  parseProcStat,
  parseUptime,
  type LoadAverage,
  type MountEntry,
  type ProcNetSocket,
  type ProcStat,
} from "./procfs.ts";
import { monotonicMs } from "./clock.ts";

export interface OsRelease {
  distribution: string;
  release: string;
  kernel: string;
  /** As Node names it: "x64", "arm64". */
  architecture: string;
}

/** What the machine shows about running in a VM or a container; detectVirtualization() decides. */
export interface VirtualizationEvidence {
  /** /run/systemd/container, written by container managers for systemd. */
  systemdContainer?: string;
  /** container= from /proc/1/environ (readable by root only). */
  pid1ContainerEnv?: string;
  dockerEnvFile: boolean;
  podmanEnvFile: boolean;
  /** /proc/1/cgroup. */
  pid1Cgroup: string;
  /** The "hypervisor" flag of /proc/cpuinfo: set inside any hardware VM. */
  cpuHypervisorFlag: boolean;
  /** /sys/class/dmi/id/{sys_vendor,product_name,bios_vendor,board_vendor}, absent in containers and on ARM. */
  dmi: { sysVendor?: string; productName?: string; biosVendor?: string; boardVendor?: string };
  /** kvm-clock among the clock sources: the guest runs on KVM even when DMI says QEMU. */
  kvmClock: boolean;
  /** /sys/hypervisor/type ("xen"). */
  hypervisorType?: string;
  /** /proc/sys/kernel/osrelease, which names WSL. */
  kernelRelease: string;
}

export interface CpuModel {
  model: string;
  physicalCores: number;
}

export interface BlockDeviceSample {
  /** Kernel name from /sys/block, so never a partition. */
  name: string;
  sizeBytes: number;
  /** Cumulative since boot. */
  readBytes: number;
  writeBytes: number;
}

export interface FsStats {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  /** Free blocks available to unprivileged users. */
  blocksAvailable: number;
  files: number;
  filesFree: number;
}

export interface InterfaceSample {
  name: string;
  /** /sys/class/net/<if>/address; empty when the interface has none. */
  mac: string;
  operstate: string;
  /** IFF_* flags; bit 0 is IFF_UP. */
  flags: number;
  /** Mb/s; absent when the driver does not say (virtual links, link down). */
  speedMbps?: number;
  /** /sys/class/net/<if>/device exists: backed by a bus device, i.e. a NIC. */
  hasDevice: boolean;
  isBridge: boolean;
  isTun: boolean;
  /** Cumulative since the interface appeared. */
  rxBytes: number;
  txBytes: number;
  addresses: { address: string; family: "IPv4" | "IPv6"; prefixLength: number }[];
}

export interface SystemSource {
  hostname(): string;
  osRelease(): Promise<OsRelease>;
  virtualization(): Promise<VirtualizationEvidence>;
  uptimeSeconds(): Promise<number>;
  cpuModel(): Promise<CpuModel>;
  procStat(): Promise<ProcStat>;
  loadAverage(): Promise<LoadAverage>;
  meminfo(): Promise<Record<string, number>>;
  blockDevices(): Promise<BlockDeviceSample[]>;
  mounts(): Promise<MountEntry[]>;
  fsStats(mountpoint: string): Promise<FsStats>;
  networkInterfaces(): Promise<InterfaceSample[]>;
  /** Listening TCP and bound, unconnected UDP sockets from /proc/net. */
  listeningSockets(): Promise<ProcNetSocket[]>;
  /** Which process holds each socket inode, from /proc/<pid>/fd (remembered between calls: socket-owners.ts). */
  socketOwners(inodes: ReadonlySet<number>): Promise<SocketOwners>;
  /** The container's memory and CPU limits and usage (cgroup v1 or v2); empty on a host. */
  cgroup(): Promise<CgroupLimits>;
  /** A container's cgroup, through its main process (container-usage.ts); undefined where the agent cannot see it. */
  containerCgroup(pid: number): ContainerCgroup | undefined;
  /** A container's CPU time, memory and network counters, from its cgroup and its main process's network namespace; undefined once gone. */
  containerUsage(pid: number, cgroup: ContainerCgroup): ContainerUsage | undefined;
  /** Monotonic seconds, for rates. */
  monotonicSeconds(): number;
}

export interface LinuxSourceOptions {
  /** Where /proc, /sys, /etc and /usr/lib live; tests point these at fixture trees. */
  proc?: string;
  sys?: string;
  etc?: string;
  usrLib?: string;
}

export function createLinuxSource(options: LinuxSourceOptions = {}): SystemSource {
  const proc = options.proc ?? "/proc";
  const sys = options.sys ?? "/sys";
  const etc = options.etc ?? "/etc";
  const usrLib = options.usrLib ?? "/usr/lib";
  let osRelease: OsRelease | undefined;
  let cpuModel: CpuModel | undefined;
  let virtualization: Promise<VirtualizationEvidence> | undefined;
  const socketOwners = createSocketOwnerResolver(proc);

  return {
    hostname,
    async osRelease() {
      // os-release(5): /etc/os-release, else /usr/lib/os-release.
      osRelease ??= { ...parseOsRelease(readText(`${etc}/os-release`) ?? readText(`${usrLib}/os-release`) ?? ""), kernel: kernelRelease(), architecture: arch() };
      return osRelease;
    },
    virtualization() {
      virtualization ??= readVirtualizationEvidence(proc, sys);
      return virtualization;
    },
    async uptimeSeconds() {
      return parseUptime(readFileSync(`${proc}/uptime`, "utf8"));
    },
    async cpuModel() {
      cpuModel ??= parseCpuinfo(readFileSync(`${proc}/cpuinfo`, "utf8"));
      return cpuModel;
    },
    async procStat() {
      return parseProcStat(readFileSync(`${proc}/stat`, "utf8"));
    },
    async loadAverage() {
      return parseLoadAverage(readFileSync(`${proc}/loadavg`, "utf8"));
    },
    async meminfo() {
      return parseMeminfo(readFileSync(`${proc}/meminfo`, "utf8"));
    },
    async blockDevices() {
      return readdirSync(`${sys}/block`).map((name) => {
        const size = readFileSync(`${sys}/block/${name}/size`, "utf8");
        const stat = readFileSync(`${sys}/block/${name}/stat`, "utf8");
        // /sys/block/<dev>/size counts 512-byte sectors regardless of the device's own sector size.
        return { name, sizeBytes: Number(size.trim()) * 512, ...parseBlockStat(stat) };
      });
    },
    async mounts() {
      return parseMountinfo(readFileSync(`${proc}/self/mountinfo`, "utf8"));
    },
    async fsStats(mountpoint) {
      const s = await statfsAsync(mountpoint);
      return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bfree, blocksAvailable: s.bavail, files: s.files, filesFree: s.ffree };
    },
    async networkInterfaces() {
      const addresses = osNetworkInterfaces();
      return readdirSync(`${sys}/class/net`).map((name) => readInterface(`${sys}/class/net/${name}`, name, addresses[name] ?? []));
    },
    async listeningSockets() {
      // A kernel without IPv6 has no tcp6/udp6.
      const tables = [
        parseProcNet(readTcpListeners(`${proc}/net/tcp`) ?? "", "tcp"),
        parseProcNet(readTcpListeners(`${proc}/net/tcp6`) ?? "", "tcp"),
        parseProcNet(readText(`${proc}/net/udp`) ?? "", "udp"),
        parseProcNet(readText(`${proc}/net/udp6`) ?? "", "udp"),
      ];
      return tables.flat().filter(isListening);
    },
    socketOwners,
    async cgroup() {
      return cgroupLimits(readCgroupFiles(`${sys}/fs/cgroup`, readText));
    },
    containerCgroup(pid) {
      return containerCgroup(pid, readText, { proc, sys });
    },
    containerUsage(pid, cgroup) {
      return readContainerUsage(pid, cgroup, readText, proc);
    },
    monotonicSeconds() {
      return monotonicMs() / 1000;
    },
  };
}

// /proc and /sys are read synchronously: the kernel generates them in memory,
// they never wait on a disk, and a synchronous read costs several times less
// CPU than a promise through libuv's thread pool. statfs stays asynchronous:
// a dead NFS server blocks it.
// Not node:fs/promises: that module loads readline and REPL history behind it
// (~0.5 MiB resident for the agent's lifetime) for one call.
const statfsAsync = promisify(statfs);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const TCP_READ_BYTES = 512;

/**
 * /proc/net/tcp{,6} up to the first row past the listening sockets (see
 * endsTcpListeners): the rest of the file is the established hash, whose walk
 * costs ~2.4 ms of kernel time per file even on a quiet machine (262,144
 * buckets on a 24 GiB host, mostly empty). Read in small pieces because the
 * kernel generates only as many rows as a read asks for.
 *
 * A read shorter than asked for is the end: seq_file stops filling a read
 * only when the rows reach its size or the table ends (rows are far smaller
 * than its page-sized buffer). Asking again for the 0 that says so would walk
 * the whole hash a second time — that is what a table with no established
 * socket of its family, typically tcp6, costs on every read past its listeners.
 */
function readTcpListeners(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const chunk = Buffer.allocUnsafe(TCP_READ_BYTES);
    const rows: string[] = [];
    let partial = "";
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      const lines = (partial + chunk.toString("latin1", 0, read)).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (endsTcpListeners(line)) return rows.join("\n");
        rows.push(line);
      }
      if (read < chunk.length) return [...rows, partial].join("\n");
    }
  } finally {
    closeSync(fd);
  }
}

async function readVirtualizationEvidence(proc: string, sys: string): Promise<VirtualizationEvidence> {
  const dmi = (file: string) => readText(`${sys}/class/dmi/id/${file}`)?.trim() || undefined;
  const systemdContainer = readText("/run/systemd/container");
  const environ = readText(`${proc}/1/environ`);
  const dockerEnvFile = existsSync("/.dockerenv");
  const podmanEnvFile = existsSync("/run/.containerenv");
  const pid1Cgroup = readText(`${proc}/1/cgroup`);
  const cpuinfo = readText(`${proc}/cpuinfo`);
  const [sysVendor, productName, biosVendor, boardVendor] = ["sys_vendor", "product_name", "bios_vendor", "board_vendor"].map(dmi);
  const hypervisorType = readText(`${sys}/hypervisor/type`);
  const kernelRelease = readText(`${proc}/sys/kernel/osrelease`);
  const clocksources = readText(`${sys}/devices/system/clocksource/clocksource0/available_clocksource`);
  const pid1ContainerEnv = environ?.split("\0").find((entry) => entry.startsWith("container="))?.slice("container=".length);
  return {
    ...(systemdContainer?.trim() ? { systemdContainer: systemdContainer.trim() } : {}),
    ...(pid1ContainerEnv ? { pid1ContainerEnv } : {}),
    dockerEnvFile,
    podmanEnvFile,
    pid1Cgroup: pid1Cgroup ?? "",
    cpuHypervisorFlag: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo ?? ""),
    dmi: { ...(sysVendor && { sysVendor }), ...(productName && { productName }), ...(biosVendor && { biosVendor }), ...(boardVendor && { boardVendor }) },
    kvmClock: /\bkvm-clock\b/.test(clocksources ?? ""),
    ...(hypervisorType?.trim() ? { hypervisorType: hypervisorType.trim() } : {}),
    kernelRelease: kernelRelease?.trim() ?? "",
  };
}

function readInterface(dir: string, name: string, addresses: ReturnType<typeof osNetworkInterfaces>[string] & object): InterfaceSample {
  const [address, operstate, flags] = [readText(`${dir}/address`), readText(`${dir}/operstate`), readText(`${dir}/flags`)];
  // Reading speed fails with EINVAL on virtual links and links that are down.
  const speed = readText(`${dir}/speed`);
  const [hasDevice, isBridge, isTun] = [existsSync(`${dir}/device`), existsSync(`${dir}/bridge`), existsSync(`${dir}/tun_flags`)];
  const [rx, tx] = [readText(`${dir}/statistics/rx_bytes`), readText(`${dir}/statistics/tx_bytes`)];
  const speedMbps = Number(speed?.trim());
  return {
    name,
    mac: address?.trim() ?? "",
    operstate: operstate?.trim() ?? "unknown",
    flags: Number(flags?.trim() ?? 0),
    ...(speed !== undefined && Number.isInteger(speedMbps) && speedMbps > 0 ? { speedMbps } : {}),
    hasDevice,
    isBridge,
    isTun,
    rxBytes: Number(rx?.trim() ?? 0),
    txBytes: Number(tx?.trim() ?? 0),
    addresses: addresses.map((a) => ({
      address: a.address,
      family: a.family,
      prefixLength: Number(a.cidr?.split("/")[1] ?? 0),
    })),
  };
}
