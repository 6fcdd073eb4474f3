// A container's CPU time, memory and network counters read where the kernel keeps
// them, through its main process: /proc/<pid>/cgroup names its cgroup (v1 per
// controller, or v2's unified one), whose files give CPU time and memory, and
// /proc/<pid>/net/dev its network namespace's interfaces. Costs a few small reads
// instead of an Engine API stats request per container, which the engine answers
// only at its next 1 s collection tick (docs/performance.md). Undefined when the
// agent cannot see them (it runs in another PID or cgroup namespace): the
// collector then asks the engine's stats API. Pure: `read` is the file reader.
import { cgroupLimits, type CgroupFiles } from "./cgroup.ts";

export interface ContainerUsage {
  /** CPU time used, cumulative. */
  cpuSeconds: number | undefined;
  /** Usage less inactive file cache, as `docker stats` shows it. */
  memoryUsedBytes: number;
  /** The cgroup's limit, or the machine's memory when it has none (as the Engine API answers). */
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

export function readContainerUsage(pid: number, read: (path: string) => string | undefined, roots: { proc: string; sys: string }): ContainerUsage | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const paths = cgroupPaths(read(`${roots.proc}/${pid}/cgroup`) ?? "");
  const base = `${roots.sys}/fs/cgroup`;
  let files: CgroupFiles;
  if (paths.memory !== undefined) {
    // v1 (or hybrid, whose unified hierarchy holds no controller): one directory per controller.
    const memory = `${base}/memory${paths.memory}`;
    files = {
      version: 1, memoryMax: read(`${memory}/memory.limit_in_bytes`), memoryCurrent: read(`${memory}/memory.usage_in_bytes`), memoryStat: read(`${memory}/memory.stat`),
      cpuStat: paths.cpuacct === undefined ? undefined : read(`${base}/cpuacct${paths.cpuacct}/cpuacct.usage`),
    };
  } else if (paths.unified !== undefined) {
    const dir = `${base}${paths.unified}`;
    files = { version: 2, memoryMax: read(`${dir}/memory.max`), memoryCurrent: read(`${dir}/memory.current`), memoryStat: read(`${dir}/memory.stat`), cpuStat: read(`${dir}/cpu.stat`) };
  } else {
    return undefined;
  }
  // Not there: the path is another cgroup namespace's, or the container just stopped.
  const current = Number(files.memoryCurrent?.trim());
  if (files.memoryCurrent === undefined || !Number.isFinite(current)) return undefined;
  const inactiveKey = files.version === 2 ? "inactive_file" : "total_inactive_file";
  const inactive = Number(new RegExp(`^${inactiveKey} (\\d+)$`, "m").exec(files.memoryStat ?? "")?.[1] ?? 0);
  const limits = cgroupLimits(files);
  const memTotalKiB = /^MemTotal:\s+(\d+) kB$/m.exec(read(`${roots.proc}/meminfo`) ?? "")?.[1];
  const network = netDevTotals(read(`${roots.proc}/${pid}/net/dev`) ?? "");
  return {
    cpuSeconds: limits.cpuUsageSeconds,
    memoryUsedBytes: Math.max(0, current - inactive),
    memoryLimitBytes: limits.memoryLimitBytes ?? (memTotalKiB === undefined ? undefined : Number(memTotalKiB) * 1024),
    networkRxBytes: network?.rx,
    networkTxBytes: network?.tx,
  };
}
