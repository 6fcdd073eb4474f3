// The built-in threshold rules, judged as each report arrives. Each turns a
// report (and the host's recent window) into values with their labels; the
// engine decides pending/firing/resolved. Defaults are documented in
// docs/alerts.md; every one can be overridden (../settings.ts).
import type { HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import { mountUsedPercent } from "../../hosts/headline.ts";
import { thresholdObservation, type Labels, type Observation, type Severity } from "../engine.ts";
import { settingsFor, type HostScope, type RuleScope, type RuleSettings, type RulesConfig } from "../settings.ts";
import { CHECK_RULES } from "./checks.ts";
import { SSH_RULES } from "./ssh.ts";
import { secondsUntil, Series } from "./window.ts";

export interface HostWindow {
  cpu: Series;
  /** Used bytes per mountpoint. */
  mountUsed: Map<string, Series>;
}

export const CPU_WINDOW_SECONDS = 5 * 60;
const FILL_WINDOW_SECONDS = 6 * 3600;

export function newHostWindow(): HostWindow {
  return { cpu: new Series(CPU_WINDOW_SECONDS), mountUsed: new Map() };
}

/**
 * Adds a report's figures to the host's window. A mount point missing from a
 * report whose mounts collector ran is forgotten: mount points are the
 * agent's to name, so only the report's (bounded) set is kept.
 */
export function recordWindow(window: HostWindow, report: HostReport): void {
  const t = report.collectedAt!.getTime() / 1000;
  if (report.cpu?.usagePercent !== undefined) window.cpu.add(t, report.cpu.usagePercent);
  if (!report.collectors.some((c) => c.name === "mounts" && !c.success)) {
    const reported = new Set(report.mounts.map((m) => m.mountpoint));
    for (const mountpoint of window.mountUsed.keys()) if (!reported.has(mountpoint)) window.mountUsed.delete(mountpoint);
  }
  for (const mount of report.mounts) {
    let series = window.mountUsed.get(mount.mountpoint);
    if (!series) window.mountUsed.set(mount.mountpoint, (series = new Series(FILL_WINDOW_SECONDS, 60)));
    series.add(t, mount.usedBytes);
  }
}

export interface HostContext extends HostScope {
  report: HostReport;
  window: HostWindow;
}

interface Judged {
  labels: Labels;
  value: number;
  mountpoint?: string;
  summary: string;
}

export interface ThresholdRule {
  name: string;
  direction: "above" | "below";
  defaults: RuleSettings;
  judge(context: HostContext): Judged[];
}

const pct = (v: number) => `${v.toFixed(1)}%`;

export const THRESHOLD_RULES: readonly ThresholdRule[] = [
  {
    name: "HostCpuBusy",
    direction: "above",
    defaults: { enabled: true, warning: 90, warningClear: 80, forSeconds: 10 * 60 },
    judge: ({ host, report, window }) => {
      const t = report.collectedAt!.getTime() / 1000;
      // Judged on the 5-minute average only once the window holds 5 minutes.
      if (window.cpu.spanSeconds() < CPU_WINDOW_SECONDS * 0.8) return [];
      const average = window.cpu.average(t - CPU_WINDOW_SECONDS)!;
      return [{ labels: { host }, value: average, summary: `CPU on ${host} is ${pct(average)} busy (5-minute average)` }];
    },
  },
  {
    name: "HostMemoryLow",
    direction: "below",
    defaults: { enabled: true, warning: 10, warningClear: 15, critical: 5, criticalClear: 8, forSeconds: 2 * 60 },
    judge: ({ host, report }) => {
      const m = report.memory;
      if (!m || m.totalBytes <= 0) return [];
      const available = (m.availableBytes / m.totalBytes) * 100;
      return [{ labels: { host }, value: available, summary: `only ${pct(available)} of memory is available on ${host}` }];
    },
  },
  {
    name: "HostSwapHeavy",
    direction: "above",
    defaults: { enabled: true, warning: 80, warningClear: 70, forSeconds: 10 * 60 },
    judge: ({ host, report }) => {
      const m = report.memory;
      if (!m || m.swapTotalBytes <= 0) return [];
      const used = (m.swapUsedBytes / m.swapTotalBytes) * 100;
      return [{ labels: { host }, value: used, summary: `${pct(used)} of swap is in use on ${host}` }];
    },
  },
  {
    name: "HostLoadHigh",
    direction: "above",
    defaults: { enabled: true, warning: 2, warningClear: 1.5, forSeconds: 15 * 60 },
    judge: ({ host, report }) => {
      const c = report.cpu;
      if (!c || c.logicalCores <= 0) return [];
      const perCore = c.load5 / c.logicalCores;
      return [{ labels: { host }, value: perCore, summary: `load per core on ${host} is ${perCore.toFixed(2)} (5-minute load ${c.load5} on ${c.logicalCores} cores)` }];
    },
  },
  {
    name: "FilesystemAlmostFull",
    direction: "above",
    defaults: { enabled: true, warning: 85, warningClear: 80, critical: 95, criticalClear: 92, forSeconds: 5 * 60 },
    judge: ({ host, report }) =>
      report.mounts.flatMap((m) => {
        const used = mountUsedPercent(m);
        return used === null ? [] : [{ labels: { host, mountpoint: m.mountpoint }, mountpoint: m.mountpoint, value: used, summary: `${m.mountpoint} on ${host} is ${pct(used)} full` }];
      }),
  },
  {
    name: "FilesystemInodesLow",
    direction: "above",
    defaults: { enabled: true, warning: 85, warningClear: 80, critical: 95, criticalClear: 92, forSeconds: 5 * 60 },
    judge: ({ host, report }) =>
      report.mounts.flatMap((m) => {
        if (m.inodesTotal <= 0) return []; // filesystems without inodes (btrfs, vfat) report 0
        const used = (m.inodesUsed / m.inodesTotal) * 100;
        return [{ labels: { host, mountpoint: m.mountpoint }, mountpoint: m.mountpoint, value: used, summary: `${pct(used)} of inodes are used on ${m.mountpoint} on ${host}` }];
      }),
  },
  {
    // As node-mixin's NodeFilesystemFillingUp: predicted full within 24 h from
    // a linear fit over up to 6 h, judged once an hour of data is there and
    // the filesystem is past half full (so a fresh, empty disk being written does not page).
    name: "FilesystemFillingUp",
    direction: "below",
    defaults: { enabled: true, warning: 24, warningClear: 36, forSeconds: 30 * 60 },
    judge: ({ host, report, window }) => {
      const now = report.collectedAt!.getTime() / 1000;
      return report.mounts.flatMap((m) => {
        const series = window.mountUsed.get(m.mountpoint);
        const used = mountUsedPercent(m);
        if (!series || series.spanSeconds() < 3600 || used === null || used < 50) return [];
        const seconds = secondsUntil(series.points, m.usedBytes + m.availableBytes, now);
        if (seconds === undefined || !Number.isFinite(seconds)) return [];
        const hours = seconds / 3600;
        return [{ labels: { host, mountpoint: m.mountpoint }, mountpoint: m.mountpoint, value: hours, summary: `${m.mountpoint} on ${host} will be full in about ${hours.toFixed(1)} h at the current rate` }];
      });
    },
  },
  ...CHECK_RULES,
  ...SSH_RULES,
];

/** Every threshold observation a report gives, for each enabled rule and severity. */
export function judgeReport(context: HostContext, config: RulesConfig): Observation[] {
  const observations: Observation[] = [];
  for (const rule of THRESHOLD_RULES) {
    for (const judged of rule.judge(context)) {
      const scope: RuleScope = { ...context, mountpoint: judged.mountpoint };
      const settings = settingsFor(rule.name, rule.defaults, config, scope);
      if (!settings.enabled) continue;
      const judgedNow = (["warning", "critical"] as const satisfies readonly Severity[]).flatMap((severity) => {
        const fire = settings[severity];
        if (fire === undefined) return [];
        const clear = settings[`${severity}Clear`] ?? defaultClear(rule, fire);
        return [thresholdObservation(
          { rule: rule.name, severity, labels: judged.labels, annotations: { summary: judged.summary }, value: judged.value, forSeconds: settings.forSeconds },
          { direction: rule.direction, fire, clear },
        )];
      });
      // Past critical, a warning that is not already firing does not start (a host first seen
      // with a full disk shows one alert, not two); one already firing stays until it clears.
      if (judgedNow.some((o) => o.severity === "critical" && o.active)) {
        for (const o of judgedNow) if (o.severity === "warning") Object.assign(o, { active: false, cleared: false });
      }
      observations.push(...judgedNow);
    }
  }
  return observations;
}

/** Without a configured clear threshold, clear 5 % of the threshold below (or above) it. */
function defaultClear(rule: ThresholdRule, fire: number): number {
  const margin = Math.abs(fire) * 0.05;
  return rule.direction === "above" ? fire - margin : fire + margin;
}
