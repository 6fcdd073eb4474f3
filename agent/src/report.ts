// One collection cycle: every collector run and timed, the parts merged into a HostReport.
import type { Logger } from "pino";
import { HostReport, type AgentStats, type CollectorRun } from "../../proto/gen/netmap/v1/report.ts";
import { fitReport } from "../../proto/src/report-check.ts";
import type { AgentState, Collector, ReportPart } from "./collectors/types.ts";
import type { SystemSource } from "./source.ts";
import { monotonicMs } from "./clock.ts";

export interface ReportIdentity {
  agentId: string;
  bootId: string;
  agentVersion: string;
  intervalSeconds: number;
}

export interface Collection {
  part: ReportPart;
  runs: CollectorRun[];
  collectedAt: Date;
}

/**
 * Runs the collectors one after another (they are cheap, and sequential runs
 * give honest per-collector durations). A collector that throws leaves its
 * fields empty and says why in its CollectorRun; the report still goes out.
 */
export async function collect(collectors: readonly Collector[], source: SystemSource, state: AgentState, log: Logger): Promise<Collection> {
  const collectedAt = new Date();
  const part: ReportPart = {};
  const runs: CollectorRun[] = [];
  for (const collector of collectors) {
    const started = monotonicMs();
    const collectorLog = log.child({ collector: collector.name });
    try {
      Object.assign(part, await collector.collect(source, state, { log: collectorLog }));
      runs.push({ name: collector.name, success: true, durationSeconds: (monotonicMs() - started) / 1000, error: "" });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      collectorLog.warn({ err: error }, "collector failed");
      runs.push({ name: collector.name, success: false, durationSeconds: (monotonicMs() - started) / 1000, error: message });
    }
  }
  return { part, runs, collectedAt };
}

/** What the agent says about itself: its spool, its connection, its own footprint. */
export function agentStats(spool: { spoolReports: number; spoolBytes: number; droppedTotal: number; reconnectsTotal: number; unspooledTotal: number }): AgentStats {
  const cpu = process.cpuUsage();
  return {
    spoolReports: spool.spoolReports,
    spoolBytes: spool.spoolBytes,
    droppedReportsTotal: spool.droppedTotal,
    reconnectsTotal: spool.reconnectsTotal,
    residentBytes: process.memoryUsage.rss(),
    cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
    unspooledReportsTotal: spool.unspooledTotal,
  };
}

/**
 * The report to send, made to fit the collector's rules (report-check.ts):
 * what the machine shows is escaped, cut or left out where it must be, so one
 * odd mount or process name never gets the whole report refused. `onRepair`
 * hears what was changed.
 */
export function buildReport(
  identity: ReportIdentity,
  hostname: string,
  seq: number,
  collection: Collection,
  agent?: AgentStats,
  onRepair?: (repairs: string[]) => void,
): HostReport {
  const report = HostReport.fromPartial({
    agentId: identity.agentId,
    hostname,
    bootId: identity.bootId,
    seq,
    collectedAt: collection.collectedAt,
    agentVersion: identity.agentVersion,
    intervalSeconds: identity.intervalSeconds,
    ...collection.part,
    collectors: collection.runs,
    ...(agent && { agent }),
  });
  const repairs = fitReport(report);
  if (repairs.length) onRepair?.(repairs);
  return report;
}

/**
 * Logs a cycle's repairs: a warning when they differ from the previous
 * cycle's, so a mount that stays odd is said once, not every interval.
 */
export function repairLogger(log: Logger): (repairs: string[]) => void {
  let last = "";
  return (repairs) => {
    const now = repairs.join("\n");
    if (now === last) log.debug({ repairs }, "report repaired to fit the collector's limits");
    else log.warn({ repairs }, "report repaired to fit the collector's limits");
    last = now;
  };
}
