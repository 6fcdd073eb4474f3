// Judges stored reports against the rules, moves each alert's state, stores
// it, and hands the transitions (firing, resolved) to the notifiers. Called
// after the ingest transaction commits, so an alert never precedes its data.
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { judgeChanges, type HostHistory } from "./rules/changes.ts";
import { fingerprint, step, type Alert, type Observation, type Transition } from "./engine.ts";
import { judgeProxmox as judgeProxmoxCycle, newProxmoxMemory, PROXMOX_GUEST_DOWN, type ProxmoxMemory } from "./rules/proxmox.ts";
import type { ProxmoxCycle } from "../proxmox/cycle.ts";
import { loadAlerts, openAlerts, saveAlerts } from "./repository.ts";
import { judgeReport, newHostWindow, recordWindow, THRESHOLD_RULES, type HostWindow } from "./rules/thresholds.ts";
import { settingsFor, type RuleSettings, type RulesConfig } from "./settings.ts";

export const HOST_DOWN = "HostDown";
const HOST_DOWN_DEFAULTS: RuleSettings = { enabled: true, forSeconds: 30 };

export interface SilentHost {
  hostId: number;
  host: string;
  client?: string;
  site?: string;
  labels?: Readonly<Record<string, string>>;
  ageSeconds: number;
  intervalSeconds: number | null;
}

export interface JudgedHost {
  hostId: number;
  host: string;
  client?: string;
  site?: string;
  labels?: Readonly<Record<string, string>>;
  report: HostReport;
}

const THRESHOLD_RULE_NAMES = new Set(THRESHOLD_RULES.map((r) => r.name));

export class AlertEvaluator {
  readonly #db: Kysely<any>;
  readonly #rules: RulesConfig;
  readonly #log: Logger;
  readonly #notify: (transitions: Transition[]) => void;
  readonly #windows = new Map<number, HostWindow>();
  /** Each host's previous report, as the change rules need it. */
  readonly #histories = new Map<number, HostHistory>();
  /** Per Proxmox cluster: the guests seen running (rules/proxmox.ts). */
  readonly #proxmox = new Map<string, ProxmoxMemory>();

  constructor(options: { db: Kysely<any>; rules: RulesConfig; log: Logger; notify: (transitions: Transition[]) => void }) {
    this.#db = options.db;
    this.#rules = options.rules;
    this.#log = options.log;
    this.#notify = options.notify;
  }

  /** Judges the newest report of each host; returns the transitions it notified. */
  async judge(hosts: JudgedHost[], now = new Date()): Promise<Transition[]> {
    if (!hosts.length) return [];
    const hostIds = new Set(hosts.map((h) => h.hostId));
    const open = await openAlerts(this.#db, [...hostIds]);
    const openOf = new Map<number, Alert[]>();
    for (const alert of open) if (alert.hostId !== null) openOf.set(alert.hostId, [...(openOf.get(alert.hostId) ?? []), alert]);

    const observations = new Map<string, { observation: Observation; hostId: number }>();
    const add = (observation: Observation, hostId: number) =>
      observations.set(fingerprint(observation.rule, { ...observation.labels, severity: observation.severity }), { observation, hostId });
    for (const host of hosts) {
      let window = this.#windows.get(host.hostId);
      if (!window) this.#windows.set(host.hostId, (window = newHostWindow()));
      recordWindow(window, host.report);
      for (const observation of judgeReport({ ...host, window }, this.#rules)) add(observation, host.hostId);
      const changes = judgeChanges({ ...host, previous: this.#histories.get(host.hostId), open: openOf.get(host.hostId) ?? [], now }, this.#rules);
      this.#histories.set(host.hostId, changes.history);
      for (const observation of changes.observations) add(observation, host.hostId);
    }
    // Open threshold alerts of these hosts that the reports no longer give a value for
    // (a mount gone, a rule disabled, swap turned off) are over: treat them as cleared.
    const stored = await loadAlerts(this.#db, [...observations.keys()]);
    for (const alert of open) {
      if (alert.hostId === null || !THRESHOLD_RULE_NAMES.has(alert.rule) || observations.has(alert.fingerprint)) continue;
      stored.set(alert.fingerprint, alert);
      const { labels, severity, rule, annotations, value } = alert;
      observations.set(alert.fingerprint, { observation: { rule, severity, labels, annotations, value, active: false, cleared: true, forSeconds: 0 }, hostId: alert.hostId });
    }
    return this.#apply(observations, stored, now);
  }

  /**
   * Forgets the in-memory state of hosts not among `hostIds` (every host
   * there is): a host removed from the database leaves nothing behind.
   */
  retainHosts(hostIds: Iterable<number>): void {
    const keep = new Set(hostIds);
    for (const map of [this.#windows, this.#histories]) {
      for (const hostId of map.keys()) if (!keep.has(hostId)) map.delete(hostId);
    }
  }

  /** Hosts with state in memory (for tests and the bench). */
  get rememberedHosts(): number[] {
    return [...new Set([...this.#windows.keys(), ...this.#histories.keys()])];
  }

  /**
   * Judges silence: HostDown for hosts whose last report is older than three
   * of their intervals (at least 30 s), held for `for` (30 s) so a blip does
   * not page; a report coming back resolves it, once. Run on a ticker.
   */
  async judgeSilence(hosts: SilentHost[], now = new Date()): Promise<Transition[]> {
    const observations = new Map<string, { observation: Observation; hostId: number }>();
    for (const host of hosts) {
      const settings = settingsFor(HOST_DOWN, HOST_DOWN_DEFAULTS, this.#rules, { host: host.host, client: host.client, site: host.site, labels: host.labels });
      if (!settings.enabled) continue;
      const interval = host.intervalSeconds ?? 10;
      const silentFor = Math.max(3 * interval, 30);
      const observation: Observation = {
        rule: HOST_DOWN,
        severity: "critical",
        labels: { host: host.host },
        annotations: { summary: `${host.host} has sent no report for ${Math.round(host.ageSeconds)} s` },
        value: host.ageSeconds,
        active: host.ageSeconds > silentFor,
        cleared: host.ageSeconds <= 2 * interval,
        forSeconds: settings.forSeconds,
      };
      observations.set(fingerprint(HOST_DOWN, { ...observation.labels, severity: "critical" }), { observation, hostId: host.hostId });
    }
    return this.#apply(observations, await loadAlerts(this.#db, [...observations.keys()]), now);
  }

  /**
   * Judges a stored Proxmox discovery cycle: node down, guest down (a guest
   * locked for backup gets a grace period), storage filling. Resources whose
   * node did not answer give no observation, so their alerts keep their state.
   */
  async judgeProxmox(cycle: ProxmoxCycle, now = new Date()): Promise<Transition[]> {
    let memory = this.#proxmox.get(cycle.cluster);
    if (!memory) this.#proxmox.set(cycle.cluster, (memory = newProxmoxMemory()));
    const guestIds = cycle.resources.filter((r) => r.type !== "node").map((r) => r.hostId);
    const openGuestDown = new Set(
      (guestIds.length ? await openAlerts(this.#db, guestIds) : []).filter((a) => a.rule === PROXMOX_GUEST_DOWN && a.hostId !== null).map((a) => a.hostId!),
    );
    const observations = new Map<string, { observation: Observation; hostId: number }>();
    for (const { observation, hostId } of judgeProxmoxCycle(cycle, memory, openGuestDown, this.#rules)) {
      observations.set(fingerprint(observation.rule, { ...observation.labels, severity: observation.severity }), { observation, hostId });
    }
    if (!observations.size) return [];
    return this.#apply(observations, await loadAlerts(this.#db, [...observations.keys()]), now);
  }

  async #apply(observations: Map<string, { observation: Observation; hostId: number }>, stored: Map<string, Alert>, now: Date): Promise<Transition[]> {
    const toSave: Array<Alert & { hostId: number }> = [];
    const dropped: string[] = [];
    const transitions: Transition[] = [];
    for (const [key, { observation, hostId }] of observations) {
      const current = stored.get(key);
      const result = step(current, observation, now);
      if (result.alert && result.alert !== current) toSave.push({ ...result.alert, hostId });
      if (!result.alert && current) dropped.push(key);
      if (result.transition) transitions.push(result.transition);
    }
    await saveAlerts(this.#db, toSave, dropped);
    for (const t of transitions) this.#log.info({ alert: t.alert.rule, severity: t.alert.severity, labels: t.alert.labels, state: t.to }, `alert ${t.to}`);
    if (transitions.length) this.#notify(transitions);
    return transitions;
  }
}
