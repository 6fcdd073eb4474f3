// SystemSource: everything the collectors read from the machine, behind one
// small interface (telegraf's PS idea), so collectors are pure functions of
// what it returns and tests feed them recorded JSON.
//
// systeminformation is used where it is cheap and the answer never changes
// (osInfo, cpu: cached after the first call). Per-cycle data comes straight
// from /proc and /sys: systeminformation spawns df, lsblk, ss or ip for some
// of it, and samples CPU load over its own window, which an agent on a
// 10-second schedule neither needs nor wants.
import { readFile, readdir, statfs, access } from "node:fs/promises";
import { hostname, networkInterfaces as osNetworkInterfaces } from "node:os";
import si from "systeminformation";
import { createSocketOwnerResolver, type SocketOwners } from "./socket-owners.ts";
import { cgroupLimits, readCgroupFiles, type CgroupLimits } from "./cgroup.ts";
import {
  isListening,
  parseBlockStat,
  parseLoadAverage,
  parseMeminfo,
  parseMountinfo,
  parseProcNet,
  parseProcStat,
  parseUptime,
  type LoadAverage,
  type MountEntry,
  type ProcNetSocket,
  type ProcStat,
} from "./procfs.ts";

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
  /** Monotonic seconds, for rates. */
  monotonicSeconds(): number;
}

export interface LinuxSourceOptions {
  /** Where /proc and /sys live; tests point these at fixture trees. */
  proc?: string;
  sys?: string;
}

export function createLinuxSource(options: LinuxSourceOptions = {}): SystemSource {
  const proc = options.proc ?? "/proc";
  const sys = options.sys ?? "/sys";
  let osRelease: Promise<OsRelease> | undefined;
  let cpuModel: Promise<CpuModel> | undefined;
  let virtualization: Promise<VirtualizationEvidence> | undefined;
  const socketOwners = createSocketOwnerResolver(proc);

  return {
    hostname,
    osRelease() {
      osRelease ??= si.osInfo().then((info) => ({
        distribution: info.distro,
        release: info.release,
        kernel: info.kernel,
        architecture: info.arch,
      }));
      return osRelease;
    },
    virtualization() {
      virtualization ??= readVirtualizationEvidence(proc, sys);
      return virtualization;
    },
    async uptimeSeconds() {
      return parseUptime(await readFile(`${proc}/uptime`, "utf8"));
    },
    cpuModel() {
      cpuModel ??= (async () => {
        const [info, cpuinfo] = await Promise.all([si.cpu(), readOptional(`${proc}/cpuinfo`)]);
        // "model name" is the full marketing name; systeminformation splits it into manufacturer and brand.
        const modelName = /^model name\s*:\s*(.+)$/m.exec(cpuinfo ?? "")?.[1]?.trim();
        return { model: modelName || [info.manufacturer, info.brand].filter(Boolean).join(" "), physicalCores: info.physicalCores };
      })();
      return cpuModel;
    },
    async procStat() {
      return parseProcStat(await readFile(`${proc}/stat`, "utf8"));
    },
    async loadAverage() {
      return parseLoadAverage(await readFile(`${proc}/loadavg`, "utf8"));
    },
    async meminfo() {
      return parseMeminfo(await readFile(`${proc}/meminfo`, "utf8"));
    },
    async blockDevices() {
      const names = await readdir(`${sys}/block`);
      return Promise.all(
        names.map(async (name) => {
          const [size, stat] = await Promise.all([readFile(`${sys}/block/${name}/size`, "utf8"), readFile(`${sys}/block/${name}/stat`, "utf8")]);
          // /sys/block/<dev>/size counts 512-byte sectors regardless of the device's own sector size.
          return { name, sizeBytes: Number(size.trim()) * 512, ...parseBlockStat(stat) };
        }),
      );
    },
    async mounts() {
      return parseMountinfo(await readFile(`${proc}/self/mountinfo`, "utf8"));
    },
    async fsStats(mountpoint) {
      const s = await statfs(mountpoint);
      return { blockSize: s.bsize, blocks: s.blocks, blocksFree: s.bfree, blocksAvailable: s.bavail, files: s.files, filesFree: s.ffree };
    },
    async networkInterfaces() {
      const names = await readdir(`${sys}/class/net`);
      const addresses = osNetworkInterfaces();
      return Promise.all(names.map((name) => readInterface(`${sys}/class/net/${name}`, name, addresses[name] ?? [])));
    },
    async listeningSockets() {
      const files = [["tcp", "tcp"], ["tcp6", "tcp"], ["udp", "udp"], ["udp6", "udp"]] as const;
      const tables = await Promise.all(
        files.map(async ([file, protocol]) => {
          // A kernel without IPv6 has no tcp6/udp6.
          const text = await readOptional(`${proc}/net/${file}`);
          return text === undefined ? [] : parseProcNet(text, protocol);
        }),
      );
      return tables.flat().filter(isListening);
    },
    socketOwners,
    async cgroup() {
      return cgroupLimits(await readCgroupFiles(`${sys}/fs/cgroup`, readOptional));
    },
    monotonicSeconds() {
      return performance.now() / 1000;
    },
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readVirtualizationEvidence(proc: string, sys: string): Promise<VirtualizationEvidence> {
  const dmi = async (file: string) => (await readOptional(`${sys}/class/dmi/id/${file}`))?.trim() || undefined;
  const [systemdContainer, environ, dockerEnvFile, podmanEnvFile, pid1Cgroup, cpuinfo, sysVendor, productName, biosVendor, boardVendor, hypervisorType, kernelRelease, clocksources] =
    await Promise.all([
      readOptional("/run/systemd/container"),
      readOptional(`${proc}/1/environ`),
      exists("/.dockerenv"),
      exists("/run/.containerenv"),
      readOptional(`${proc}/1/cgroup`),
      readOptional(`${proc}/cpuinfo`),
      dmi("sys_vendor"),
      dmi("product_name"),
      dmi("bios_vendor"),
      dmi("board_vendor"),
      readOptional(`${sys}/hypervisor/type`),
      readOptional(`${proc}/sys/kernel/osrelease`),
      readOptional(`${sys}/devices/system/clocksource/clocksource0/available_clocksource`),
    ]);
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

async function readInterface(dir: string, name: string, addresses: ReturnType<typeof osNetworkInterfaces>[string] & object): Promise<InterfaceSample> {
  const [address, operstate, flags, speed, hasDevice, isBridge, isTun, rx, tx] = await Promise.all([
    readOptional(`${dir}/address`),
    readOptional(`${dir}/operstate`),
    readOptional(`${dir}/flags`),
    // Reading speed fails with EINVAL on virtual links and links that are down.
    readOptional(`${dir}/speed`),
    exists(`${dir}/device`),
    exists(`${dir}/bridge`),
    exists(`${dir}/tun_flags`),
    readOptional(`${dir}/statistics/rx_bytes`),
    readOptional(`${dir}/statistics/tx_bytes`),
  ]);
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
