// A container's CPU time, memory and network counters read where the kernel keeps
// them, through its main process: /proc/<pid>/cgroup names its cgroup (v1 per
// controller, or v2's unified one), whose files give CPU time and memory, and
// /proc/<pid>/net/dev its network namespace's interfaces. Costs a few small reads
// instead of an Engine API stats request per container, which the engine answers
// only at its next 1 s collection tick (docs/performance.md). Undefined when the
// agent cannot see them (it runs in another PID or cgroup namespace): the
// collector then asks the engine's stats API. Pure: `read` is the file reader.
import { cgroupLimits, inactiveFileBytes, type CgroupFiles } from "./cgroup.ts";

export interface ContainerUsage {
  /** CPU time used, cumulative. */
  cpuSeconds: number | undefined;
  /** Usage less inactive file cache, as `docker stats` shows it. */
  memoryUsedBytes: number;
  /** The cgroup's limit; undefined when it has none. */
  memoryLimitBytes: number | undefined;
  /** Summed over the namespace's interfaces but lo; undefined with no other interface. */
  networkRxBytes: number | undefined;
  networkTxBytes: number | undefined;
}

/** The cgroup paths of /proc/<pid>/cgroup: v2's `0::/path`, v1's `N:memory:/path` and `N:cpu,cpuacct:/path`. */
export function cgroupPaths(text: string): { unified?: string; memory?: string; cpuacct?: string } {
  const paths: { unified?: string; memory?: string; cpuacct?: string } = {};
  for (const line of text.split("\n")) {
    const match = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers, path] = match as unknown as [string, string, string];
    if (controllers === "") paths.unified = path;
    for (const controller of controllers.split(",")) if (controller === "memory" || controller === "cpuacct") paths[controller] = path;
  }
  return paths;
}

/** Bytes received and sent over every interface of a /proc/<pid>/net/dev but lo. */
export function netDevTotals(text: string): { rx: number; tx: number } | undefined {
  let totals: { rx: number; tx: number } | undefined;
  for (const line of text.split("\n").slice(2)) {
    const at = line.indexOf(":");
    if (at < 0 || line.slice(0, at).trim() === "lo") continue;
    const fields = line.slice(at + 1).trim().split(/\s+/).map(Number);
    if (fields.length < 16 || fields.some((f) => !Number.isFinite(f))) continue;
    totals = { rx: (totals?.rx ?? 0) + fields[0]!, tx: (totals?.tx ?? 0) + fields[8]! };
  }
  return totals;
}

/** Where a running container's counters are, found once per main process from its /proc/<pid>/cgroup. */
export interface ContainerCgroup {
  version: 1 | 2;
  /** The cgroup's directory in the memory controller (v1) or the unified hierarchy (v2). */
  memoryDir: string;
  /** v2 cpu.stat, v1 cpuacct.usage; undefined when v1 has no cpuacct controller mounted. */
  cpuFile: string | undefined;
}

export function containerCgroup(pid: number, read: (path: string) => string | undefined, roots: { proc: string; sys: string }): ContainerCgroup | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const paths = cgroupPaths(read(`${roots.proc}/${pid}/cgroup`) ?? "");
  const base = `${roots.sys}/fs/cgroup`;
  // v1 (or hybrid, whose unified hierarchy holds no controller): one directory per controller.
  if (paths.memory !== undefined) return { version: 1, memoryDir: `${base}/memory${paths.memory}`, cpuFile: paths.cpuacct === undefined ? undefined : `${base}/cpuacct${paths.cpuacct}/cpuacct.usage` };
  if (paths.unified !== undefined) return { version: 2, memoryDir: `${base}${paths.unified}`, cpuFile: `${base}${paths.unified}/cpu.stat` };
  return undefined;
}

/**
 * The counters of a container whose cgroup `containerCgroup` found; undefined when its files are
 * gone (the container stopped) or another cgroup namespace's. A cgroup without a memory limit
 * gives none: the collector gives the machine's memory, as the Engine API does.
 */
export function readContainerUsage(pid: number, cgroup: ContainerCgroup, read: (path: string) => string | undefined, proc: string): ContainerUsage | undefined {
  const dir = cgroup.memoryDir;
  const v1 = cgroup.version === 1;
  const files: CgroupFiles = {
    version: cgroup.version,
    memoryCurrent: read(v1 ? `${dir}/memory.usage_in_bytes` : `${dir}/memory.current`),
    memoryMax: read(v1 ? `${dir}/memory.limit_in_bytes` : `${dir}/memory.max`),
    memoryStat: read(`${dir}/memory.stat`),
    cpuStat: cgroup.cpuFile === undefined ? undefined : read(cgroup.cpuFile),
  };
  const current = Number(files.memoryCurrent?.trim());
  if (files.memoryCurrent === undefined || !Number.isFinite(current)) return undefined;
  const limits = cgroupLimits(files);
  const network = netDevTotals(read(`${proc}/${pid}/net/dev`) ?? "");
  return {
    cpuSeconds: limits.cpuUsageSeconds,
    memoryUsedBytes: Math.max(0, current - inactiveFileBytes(files)),
    memoryLimitBytes: limits.memoryLimitBytes,
    networkRxBytes: network?.rx,
    networkTxBytes: network?.tx,
  };
}
