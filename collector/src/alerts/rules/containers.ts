// The container rules, judged on each report that carries the agent's
// containers (`containers:`, docs/agent.md). Pure: the report, what earlier
// reports of the host showed (the memory the evaluator keeps) and the host's
// open ContainerDown alerts in; observations out. A report whose containers
// collector failed judges nothing: what is not known is neither fired nor resolved.
import type { Container, HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import { thresholdObservation, type Observation } from "../engine.ts";
import { settingsFor, type HostScope, type RuleSettings, type RulesConfig } from "../settings.ts";
import { Series } from "./window.ts";

export const CONTAINER_DOWN = "ContainerDown";
export const CONTAINER_RESTARTING = "ContainerRestarting";
export const CONTAINER_UNHEALTHY = "ContainerUnhealthy";

export const CONTAINER_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [CONTAINER_DOWN]: { enabled: true, forSeconds: 30 },
  // Restarts within RESTART_WINDOW_SECONDS: a loop, not one restart after a crash.
  [CONTAINER_RESTARTING]: { enabled: true, warning: 3, warningClear: 1, forSeconds: 0 },
  [CONTAINER_UNHEALTHY]: { enabled: true, forSeconds: 60 },
};

export const RESTART_WINDOW_SECONDS = 10 * 60;

/** What earlier reports of one host showed, by container name. */
export interface ContainerMemory {
  seenRunning: Set<string>;
  restarts: Map<string, Series>;
}

export function newContainerMemory(): ContainerMemory {
  return { seenRunning: new Set(), restarts: new Map() };
}

/** Whether this report says what the host's containers are (its containers collector ran and succeeded). */
export function containersKnown(report: HostReport): boolean {
  return report.collectors.some((c) => c.name === "containers" && c.success);
}

export interface ContainerContext extends HostScope {
  report: HostReport;
  memory: ContainerMemory;
  /** Containers of the host with an open ContainerDown: a collector restarted while one is down keeps it down. */
  openDown: ReadonlySet<string>;
}

const exited = (c: Container) => c.state === "exited" || c.state === "dead";

export function judgeContainers(context: ContainerContext, config: RulesConfig): Observation[] {
  const { host, report, memory, openDown } = context;
  if (!containersKnown(report)) return [];
  const t = report.collectedAt!.getTime() / 1000;
  const out: Observation[] = [];
  const present = new Set(report.containers.map((c) => c.name));
  for (const name of memory.seenRunning) if (!present.has(name)) memory.seenRunning.delete(name);
  for (const name of memory.restarts.keys()) if (!present.has(name)) memory.restarts.delete(name);

  for (const c of report.containers) {
    const labels = { host, container: c.name };
    const settings = (rule: string) => settingsFor(rule, CONTAINER_RULE_DEFAULTS[rule]!, config, context);
    const down = settings(CONTAINER_DOWN);
    if (down.enabled) {
      const active = exited(c) && (memory.seenRunning.has(c.name) || openDown.has(c.name));
      const code = c.exitCode === undefined ? "" : ` (exit code ${c.exitCode})`;
      out.push({
        rule: CONTAINER_DOWN, severity: "critical", labels, value: active ? 1 : 0, active, cleared: c.state === "running", forSeconds: down.forSeconds,
        annotations: { summary: `container ${c.name} (${c.image}) on ${host} is ${c.state}${code}; it was running` },
      });
    }
    if (c.state === "running") memory.seenRunning.add(c.name);

    let series = memory.restarts.get(c.name);
    if (!series) memory.restarts.set(c.name, (series = new Series(RESTART_WINDOW_SECONDS)));
    series.add(t, c.restartCount);
    const restarting = settings(CONTAINER_RESTARTING);
    if (restarting.enabled && restarting.warning !== undefined) {
      const restarts = Math.max(0, c.restartCount - series.points[0]!.v);
      out.push(thresholdObservation(
        { rule: CONTAINER_RESTARTING, severity: "warning", labels, value: restarts, forSeconds: restarting.forSeconds,
          annotations: { summary: `container ${c.name} on ${host} restarted ${restarts} times in ${RESTART_WINDOW_SECONDS / 60} min (${c.restartCount} in all)` } },
        { direction: "above", fire: restarting.warning, clear: restarting.warningClear ?? restarting.warning },
      ));
    }
    const unhealthy = settings(CONTAINER_UNHEALTHY);
    if (unhealthy.enabled) {
      const active = c.health === "unhealthy";
      out.push({
        rule: CONTAINER_UNHEALTHY, severity: "warning", labels, value: active ? 1 : 0, active, cleared: !active, forSeconds: unhealthy.forSeconds,
        annotations: { summary: `container ${c.name} on ${host} is ${c.health || "without a healthcheck"}` },
      });
    }
  }
  return out;
}
