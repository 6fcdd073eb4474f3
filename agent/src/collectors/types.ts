import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Logger } from "pino";
import type { CpuTimes } from "../procfs.ts";
import type { SystemSource } from "../source.ts";

/** The report fields one collector fills. */
export type ReportPart = Partial<Pick<HostReport, "os" | "cpu" | "memory" | "disks" | "mounts" | "listeners" | "interfaces" | "checks" | "sshAuth" | "containers" | "containerEngine">>;

/** Counters at one instant, kept from one cycle to the next so rates can be computed. */
export interface CounterSample {
  atSeconds: number;
  counters: Record<string, { a: number; b: number }>;
}

/**
 * What collectors carry between cycles. One object per agent process; empty on
 * the first cycle, which is why rates are absent then.
 */
export interface CgroupCpuSample {
  usageSeconds: number;
  atSeconds: number;
}

export interface AgentState {
  cpuTimes?: CpuTimes;
  cgroupCpu?: CgroupCpuSample;
  disks?: CounterSample;
  interfaces?: CounterSample;
  /** Mount points whose statfs has not answered yet, even if a cycle gave up on it. */
  statfsPending?: Set<string>;
}

export interface CollectorContext {
  log: Logger;
}

export interface Collector {
  readonly name: string;
  collect(source: SystemSource, state: AgentState, context: CollectorContext): Promise<ReportPart>;
}

/** Per-second rate of a counter; undefined without a previous sample or across a counter reset. */
export function ratePerSecond(current: number, previous: number | undefined, elapsedSeconds: number): number | undefined {
  if (previous === undefined || elapsedSeconds <= 0 || current < previous) return undefined;
  return (current - previous) / elapsedSeconds;
}

/**
 * Kernel names (sda, eth0) in code-unit order. Not localeCompare: that loads
 * ICU's collation data, ~2 MiB of resident memory for ASCII names.
 */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
