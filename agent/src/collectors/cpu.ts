import type { Cpu, CpuTime } from "../../../proto/gen/netmap/v1/report.ts";
import type { CpuTimes, LoadAverage, ProcStat } from "../procfs.ts";
import type { CpuModel } from "../source.ts";
import type { CgroupLimits } from "../cgroup.ts";
import type { CgroupCpuSample, Collector } from "./types.ts";

export const cpuCollector: Collector = {
  name: "cpu",
  async collect(source, state) {
    const [model, stat, load, cgroup] = await Promise.all([source.cpuModel(), source.procStat(), source.loadAverage(), source.cgroup()]);
    const now = source.monotonicSeconds();
    const cpu = { ...cpuInfo(model, stat, load, state.cpuTimes), ...cpuLimit(cgroup, stat.cpuCount, state.cgroupCpu, now) };
    state.cpuTimes = stat.cpu;
    if (cgroup.cpuUsageSeconds !== undefined) state.cgroupCpu = { usageSeconds: cgroup.cpuUsageSeconds, atSeconds: now };
    return { cpu };
  },
};

export function cpuInfo(model: CpuModel, stat: ProcStat, load: LoadAverage, previous: CpuTimes | undefined): Cpu {
  return {
    logicalCores: stat.cpuCount,
    physicalCores: model.physicalCores,
    model: model.model,
    ...cpuUsage(stat.cpu, previous),
    load1: load.load1,
    load5: load.load5,
    load15: load.load15,
    times: stat.perCpu.map(({ cpu, times }) => cpuSeconds(cpu, times)),
  };
}

/**
 * /proc/stat counts USER_HZ ticks, 100 a second on every Linux architecture
 * (the kernel's ABI, whatever CONFIG_HZ is), as node_exporter assumes too.
 */
const USER_HZ = 100;

export function cpuSeconds(cpu: number, ticks: CpuTimes): CpuTime {
  const s = (key: keyof CpuTimes) => ticks[key] / USER_HZ;
  return { cpu, user: s("user"), nice: s("nice"), system: s("system"), idle: s("idle"), iowait: s("iowait"), irq: s("irq"), softirq: s("softirq"), steal: s("steal") };
}

/**
 * Shares of all CPUs' time between two /proc/stat samples. user includes nice;
 * system includes irq and softirq (time the kernel spent, as mpstat's %sys +
 * %irq + %soft). Empty without a previous sample, or when the counters went
 * backwards (a CPU went offline) or did not move.
 */
export function cpuUsage(current: CpuTimes, previous: CpuTimes | undefined): Pick<Cpu, "usagePercent" | "userPercent" | "systemPercent" | "iowaitPercent" | "stealPercent"> {
  if (!previous) return {};
  const delta = (key: keyof CpuTimes) => current[key] - previous[key];
  const keys = Object.keys(current) as (keyof CpuTimes)[];
  if (keys.some((key) => delta(key) < 0)) return {};
  const total = keys.reduce((sum, key) => sum + delta(key), 0);
  if (total <= 0) return {};
  const percent = (ticks: number) => (100 * ticks) / total;
  return {
    usagePercent: percent(total - delta("idle") - delta("iowait")),
    userPercent: percent(delta("user") + delta("nice")),
    systemPercent: percent(delta("system") + delta("irq") + delta("softirq")),
    iowaitPercent: percent(delta("iowait")),
    stealPercent: percent(delta("steal")),
  };
}

/**
 * The container's CPU limit when it is below the machine's cores, and the share
 * of it used since the previous cycle (absent on the first cycle, like every rate).
 */
export function cpuLimit(cgroup: CgroupLimits, logicalCores: number, previous: CgroupCpuSample | undefined, nowSeconds: number): Pick<Cpu, "limitCores" | "limitUsagePercent"> {
  const cores = cgroup.cpuLimitCores;
  if (cores === undefined || cores >= logicalCores) return {};
  const elapsed = previous ? nowSeconds - previous.atSeconds : 0;
  const used = cgroup.cpuUsageSeconds !== undefined && previous ? cgroup.cpuUsageSeconds - previous.usageSeconds : undefined;
  if (used === undefined || used < 0 || elapsed <= 0) return { limitCores: cores };
  return { limitCores: cores, limitUsagePercent: (100 * used) / (elapsed * cores) };
}
