// The absence rule: HostDown, judged on what does not arrive. A ticker (and
// every stored report) hands it each reporting host with the age of its last
// report. Pure: hosts in, observations out.
import type { HostObservation } from "../engine.ts";
import { settingsFor, type HostScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const HOST_DOWN = "HostDown";
export const HOST_DOWN_DEFAULTS: RuleSettings = { enabled: true, forSeconds: 30 };

/** A host that has reported, and how old its last report is. */
export interface ReportingHost extends HostScope {
  hostId: number;
  ageSeconds: number;
  intervalSeconds: number | null;
  /** Another reporting host has the same name (two unassigned agents called web01, one web01 per client). */
  sharedName?: boolean;
}

/**
 * HostDown's labels: the host's name, and its id when another reporting host has the same
 * name, so that each has an alert (a fingerprint) of its own. A host whose name is its own
 * keeps `{ host }` alone, and with it the fingerprint its alerts were stored under.
 */
export function hostDownLabels(host: ReportingHost): Record<string, string> {
  return host.sharedName ? { host: host.host, host_id: String(host.hostId) } : { host: host.host };
}

/** How long a host reporting every `intervalSeconds` (10 s when unknown) must be silent to be down: three intervals, at least 30 s. */
export function silentForSeconds(intervalSeconds: number | null): number {
  return Math.max(3 * (intervalSeconds ?? 10), 30);
}

/**
 * HostDown for hosts whose last report is older than three of their
 * intervals (at least 30 s), held for `for` (30 s) so a blip does not page;
 * cleared once a report is no older than two intervals.
 */
export function judgeAbsence(hosts: readonly ReportingHost[], config: RulesConfig): HostObservation[] {
  const out: HostObservation[] = [];
  for (const host of hosts) {
    const settings = settingsFor(HOST_DOWN, HOST_DOWN_DEFAULTS, config, host);
    if (!settings.enabled) continue;
    const interval = host.intervalSeconds ?? 10;
    const silentFor = silentForSeconds(interval);
    out.push({
      hostId: host.hostId,
      observation: {
        rule: HOST_DOWN,
        severity: "critical",
        labels: hostDownLabels(host),
        annotations: { summary: `${host.host} has sent no report for ${Math.round(host.ageSeconds)} s` },
        value: host.ageSeconds,
        active: host.ageSeconds > silentFor,
        cleared: host.ageSeconds <= 2 * interval,
        forSeconds: settings.forSeconds,
      },
    });
  }
  return out;
}
