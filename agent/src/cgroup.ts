// The limits a container runs under, from the cgroup filesystem (v2 unified or
// v1). The cgroup read is the one at the root of /sys/fs/cgroup: inside a
// container (LXC, Docker, Podman with a cgroup namespace) that is the
// container's own, on a host it is the root, which has no limits. The agent's
// own cgroup is not read on purpose: a MemoryMax= in its systemd unit limits
// the agent, not the machine.

/** The raw files, as read; absent when the file is not there. Pure parsing below. */
export interface CgroupFiles {
  version: 1 | 2 | undefined;
  memoryMax?: string; // v2 memory.max, v1 memory/memory.limit_in_bytes
  memoryCurrent?: string; // v2 memory.current, v1 memory/memory.usage_in_bytes
  memoryStat?: string; // v2 memory.stat, v1 memory/memory.stat
  cpuMax?: string; // v2 cpu.max "quota period"; v1 "quota period" from cpu.cfs_quota_us and cpu.cfs_period_us
  cpuset?: string; // cpuset.cpus.effective (v2) or cpuset/cpuset.effective_cpus|cpuset.cpus (v1)
  cpuStat?: string; // v2 cpu.stat (usage_usec); v1 cpuacct/cpuacct.usage (nanoseconds)
}

export interface CgroupLimits {
  memoryLimitBytes?: number;
  /** Usage less inactive file cache: the working set, which is what hits the limit. */
  memoryWorkingSetBytes?: number;
  /** min(CPU quota, cpuset size), in cores. */
  cpuLimitCores?: number;
  /** CPU time the cgroup has used, cumulative. */
  cpuUsageSeconds?: number;
}

// v1 writes "no limit" as the largest page-aligned signed 64-bit number.
const V1_UNLIMITED = 2 ** 62;

export function cgroupLimits(files: CgroupFiles): CgroupLimits {
  if (files.version === undefined) return {};
  const limits: CgroupLimits = {};
  const memoryMax = Number(files.memoryMax?.trim());
  if (files.memoryMax?.trim() !== "max" && Number.isFinite(memoryMax) && memoryMax > 0 && memoryMax < V1_UNLIMITED) limits.memoryLimitBytes = memoryMax;
  const current = Number(files.memoryCurrent?.trim());
  if (limits.memoryLimitBytes !== undefined && files.memoryCurrent !== undefined && Number.isFinite(current)) {
    limits.memoryWorkingSetBytes = Math.max(0, current - inactiveFileBytes(files));
  }
  const [quotaText, periodText] = files.cpuMax?.trim().split(/\s+/) ?? [];
  const quota = Number(quotaText);
  const period = Number(periodText);
  const quotaCores = quotaText !== "max" && quota > 0 && period > 0 ? quota / period : undefined;
  const cpusetCores = files.cpuset?.trim() ? countCpus(files.cpuset) : undefined;
  const cores = [quotaCores, cpusetCores].filter((c): c is number => c !== undefined);
  if (cores.length > 0) limits.cpuLimitCores = Math.min(...cores);
  if (files.cpuStat !== undefined) {
    if (files.version === 2) {
      const usec = /^usage_usec (\d+)$/m.exec(files.cpuStat)?.[1];
      if (usec !== undefined) limits.cpuUsageSeconds = Number(usec) / 1e6;
    } else if (/^\d+$/.test(files.cpuStat.trim())) {
      limits.cpuUsageSeconds = Number(files.cpuStat.trim()) / 1e9;
    }
  }
  return limits;
}

const INACTIVE_FILE = { 1: /^total_inactive_file (\d+)$/m, 2: /^inactive_file (\d+)$/m };

/** memory.stat's inactive file cache (v1: the hierarchy's total), which the working set leaves out; 0 when not there. */
export function inactiveFileBytes(files: CgroupFiles): number {
  return files.version === undefined ? 0 : Number(INACTIVE_FILE[files.version].exec(files.memoryStat ?? "")?.[1] ?? 0);
}

/** CPUs in a cpuset list like "0-3,6,8-9". */
export function countCpus(list: string): number {
  let count = 0;
  for (const range of list.trim().split(",").filter(Boolean)) {
    const [from, to] = range.split("-").map(Number);
    count += to === undefined ? 1 : to! - from! + 1;
  }
  return count;
}

export function readCgroupFiles(root: string, readOptional: (path: string) => string | undefined): CgroupFiles {
  const controllers = readOptional(`${root}/cgroup.controllers`);
  if (controllers !== undefined) {
    const files = ["memory.max", "memory.current", "memory.stat", "cpu.max", "cpuset.cpus.effective", "cpu.stat"];
    const [memoryMax, memoryCurrent, memoryStat, cpuMax, cpuset, cpuStat] = files.map((file) => readOptional(`${root}/${file}`));
    return { version: 2, memoryMax, memoryCurrent, memoryStat, cpuMax, cpuset, cpuStat };
  }
  const [memoryMax, memoryCurrent, memoryStat, quota, period, cpusetEffective, cpusetCpus, cpuacct] = [
    "memory/memory.limit_in_bytes",
    "memory/memory.usage_in_bytes",
    "memory/memory.stat",
    "cpu/cpu.cfs_quota_us",
    "cpu/cpu.cfs_period_us",
    "cpuset/cpuset.effective_cpus",
    "cpuset/cpuset.cpus",
    "cpuacct/cpuacct.usage",
  ].map((file) => readOptional(`${root}/${file}`));
  if (memoryMax === undefined && quota === undefined && cpuacct === undefined) return { version: undefined };
  return {
    version: 1,
    memoryMax,
    memoryCurrent,
    memoryStat,
    ...(quota !== undefined && period !== undefined && Number(quota) > 0 ? { cpuMax: `${quota.trim()} ${period.trim()}` } : {}),
    cpuset: cpusetEffective ?? cpusetCpus,
    cpuStat: cpuacct,
  };
}
