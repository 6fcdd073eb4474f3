// The heartbeat rule: Watchdog, an alert that always fires, as Alertmanager's Watchdog in
// kube-prometheus. It is sent to every notifier on the re-send cadence (every minute) by the
// collector running the absence check, after it has read the open alerts from PostgreSQL: so
// it keeps arriving exactly while NetMap can judge silent hosts and page. An external dead
// man's switch pages when it stops. It belongs to no host and is not stored.
import { fingerprint, type Alert } from "../engine.ts";
import type { RuleSettings, RulesConfig } from "../settings.ts";

export const WATCHDOG = "Watchdog";
export const WATCHDOG_DEFAULTS: RuleSettings = { enabled: true, forSeconds: 0 };

/** `rules: { Watchdog: { enabled: false } }` turns it off; it has no host, so no override matches one. */
export function watchdogEnabled(config: RulesConfig): boolean {
  return config[WATCHDOG]?.enabled ?? WATCHDOG_DEFAULTS.enabled;
}

/** The Watchdog alert, firing since `since` (the collector's start: one alert to Alertmanager, not one a minute). */
export function watchdogAlert(since: Date): Alert {
  return {
    fingerprint: fingerprint(WATCHDOG, {}, "info"),
    rule: WATCHDOG,
    severity: "info",
    labels: {},
    annotations: {
      summary: "NetMap's alerting is alive: this alert always fires",
      description: "Sent every minute while NetMap can judge silent hosts and page. Route it to a dead man's switch that pages when it stops arriving.",
    },
    state: "firing",
    value: 1,
    activeSince: since,
    startsAt: since,
    endsAt: null,
  };
}
