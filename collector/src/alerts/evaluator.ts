// Judges stored reports against the rules, moves each alert's state, stores
// it, and hands the transitions (firing, resolved) to the notifiers. Called
// after the ingest transaction commits, so an alert never precedes its data.
import { sql } from "kysely";
import type { Logger } from "pino";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Db } from "../db/database.ts";
import type { ProxmoxCycle } from "../proxmox/cycle.ts";
import { fingerprint, step, type Alert, type HostObservation, type Observation, type Transition } from "./engine.ts";
import { enqueueTransitions, loadAlerts, openAlerts, saveAlerts } from "./repository.ts";
import { judgeAbsence, type ReportingHost } from "./rules/absence.ts";
import { INHIBITED_BY, judgeTopology, type TopologyContext } from "./rules/topology.ts";
import { judgeChanges, type HostHistory } from "./rules/changes.ts";
import { CONTAINER_DOWN, containersKnown, judgeContainers, newContainerMemory, type ContainerMemory } from "./rules/containers.ts";
import { ruleFamily } from "./rules/index.ts";
import { judgeProxmox as judgeProxmoxCycle, newProxmoxMemory, PROXMOX_GUEST_DOWN, type ProxmoxMemory } from "./rules/proxmox.ts";
import { judgeDevice } from "./rules/snmp.ts";
import type { StoredDevice } from "../snmp/store.ts";
import { judgeReport, newHostWindow, recordWindow, type HostWindow } from "./rules/thresholds.ts";
import { judgeVersionSkew, newestVersion } from "./rules/versions.ts";
import type { HostScope, RulesConfig } from "./settings.ts";

export interface JudgedHost extends HostScope {
  hostId: number;
  report: HostReport;
}

/** Observations by the fingerprint of the alert each moves. */
type Observed = Map<string, HostObservation>;

/** Adds observations to `into` by fingerprint; a later one of the same alert replaces an earlier. */
function byFingerprint(observations: Iterable<HostObservation>, into: Observed = new Map()): Observed {
  for (const o of observations) into.set(fingerprint(o.observation.rule, o.observation.labels, o.observation.severity), o);
  return into;
}

/**
 * A firing alert the topology hid whose cause came back while it stays down: it is its
 * own cause now, and pages as if it had just fired (the dispatcher unmutes it).
 */
function inhibitionLifted(before: Alert | undefined, after: Alert | undefined): boolean {
  return before?.state === "firing" && after?.state === "firing" && before.annotations[INHIBITED_BY] !== undefined && after.annotations[INHIBITED_BY] === undefined;
}

/**
 * A hidden alert whose host is not judged silent any more stays hidden until it clears: a host
 * reporting again, its last report not yet fresh enough to clear HostDown (older than two
 * intervals: a loaded collector, a slow ingest), or judged right after its report without the
 * topology, is coming back, not down on its own; unhidden, it would page, then page its resolve.
 */
function stillHidden(current: Alert | undefined, observation: Observation): Observation {
  const hidden = current?.state === "firing" && current.annotations[INHIBITED_BY] !== undefined;
  return hidden && !observation.active && observation.annotations[INHIBITED_BY] === undefined ? { ...observation, annotations: current.annotations } : observation;
}

export class AlertEvaluator {
  readonly #db: Db;
  readonly #rules: RulesConfig;
  readonly #log: Logger;
  readonly #notify: (transitions: Transition[]) => void;
  readonly #windows = new Map<number, HostWindow>();
  /** Each host's previous report, as the change rules need it. */
  readonly #histories = new Map<number, HostHistory>();
  /** Per host: the containers seen running and their restart counts (rules/containers.ts). */
  readonly #containers = new Map<number, ContainerMemory>();
  /** Per Proxmox cluster: the guests seen running (rules/proxmox.ts). */
  readonly #proxmox = new Map<string, ProxmoxMemory>();
  /** Per host: the agent version of its latest report (rules/versions.ts). */
  readonly #versions = new Map<number, string>();

  constructor(options: { db: Db; rules: RulesConfig; log: Logger; notify: (transitions: Transition[]) => void }) {
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

    const observations: Observed = new Map();
    const add = (observation: Observation, hostId: number) => byFingerprint([{ observation, hostId }], observations);
    for (const host of hosts) if (host.report.agentVersion) this.#versions.set(host.hostId, host.report.agentVersion);
    const newest = newestVersion(this.#versions.values());
    for (const host of hosts) {
      let window = this.#windows.get(host.hostId);
      if (!window) this.#windows.set(host.hostId, (window = newHostWindow()));
      recordWindow(window, host.report);
      for (const observation of judgeReport({ ...host, window }, this.#rules)) add(observation, host.hostId);
      const changes = judgeChanges({ ...host, previous: this.#histories.get(host.hostId), open: openOf.get(host.hostId) ?? [], now }, this.#rules);
      this.#histories.set(host.hostId, changes.history);
      for (const observation of changes.observations) add(observation, host.hostId);
      let containers = this.#containers.get(host.hostId);
      if (!containers) this.#containers.set(host.hostId, (containers = newContainerMemory()));
      const openDown = new Set((openOf.get(host.hostId) ?? []).filter((a) => a.rule === CONTAINER_DOWN).map((a) => a.labels.container ?? ""));
      for (const observation of judgeContainers({ ...host, memory: containers, openDown }, this.#rules)) add(observation, host.hostId);
      for (const { observation } of judgeVersionSkew(host, newest, this.#rules)) add(observation, host.hostId);
    }
    // Open threshold alerts of these hosts that the reports no longer give a value for
    // (a mount gone, a rule disabled, swap turned off) are over: treat them as cleared;
    // so are container alerts of a container gone from a report that lists the containers.
    const known = new Set(hosts.filter((h) => containersKnown(h.report)).map((h) => h.hostId));
    const judged = (alert: (typeof open)[number]) => ruleFamily(alert.rule) === "threshold" || (ruleFamily(alert.rule) === "container" && known.has(alert.hostId!));
    for (const alert of open) {
      if (alert.hostId === null || !judged(alert) || observations.has(alert.fingerprint)) continue;
      const { labels, severity, rule, annotations, value } = alert;
      observations.set(alert.fingerprint, { observation: { rule, severity, labels, annotations, value, active: false, cleared: true, forSeconds: 0 }, hostId: alert.hostId });
    }
    return this.#apply(observations, now);
  }

  /**
   * Forgets the in-memory state of hosts not among `hostIds` (every host
   * there is): a host removed from the database leaves nothing behind.
   */
  retainHosts(hostIds: Iterable<number>): void {
    const keep = new Set(hostIds);
    for (const map of [this.#windows, this.#histories, this.#containers, this.#versions]) {
      for (const hostId of map.keys()) if (!keep.has(hostId)) map.delete(hostId);
    }
  }

  /** Hosts with state in memory (for tests and the bench). */
  get rememberedHosts(): number[] {
    return [...new Set([...this.#windows.keys(), ...this.#histories.keys()])];
  }

  /**
   * Judges silence (rules/absence.ts): HostDown, resolved once a report
   * comes back. Run on a ticker and after each stored batch. Given where
   * every reporting host sits (the ticker's full pass), HostDown also follows
   * the topology (rules/topology.ts): hosts behind a down parent or in a
   * wholly-down site are inhibited, and SiteUnreachable is judged.
   */
  async judgeSilence(hosts: ReportingHost[], now = new Date(), topology?: TopologyContext): Promise<Transition[]> {
    const hostDown = judgeAbsence(hosts, this.#rules);
    const observations = byFingerprint(topology ? judgeTopology(hostDown, topology, this.#rules) : hostDown);
    return this.#apply(observations, now);
  }

  /**
   * Judges a stored Proxmox discovery cycle: node down, guest down (a guest
   * locked for backup gets a grace period), storage filling, backups. Resources whose
   * node did not answer give no observation, so their alerts keep their state.
   */
  async judgeProxmox(cycle: ProxmoxCycle, now = new Date()): Promise<Transition[]> {
    let memory = this.#proxmox.get(cycle.cluster);
    if (!memory) this.#proxmox.set(cycle.cluster, (memory = newProxmoxMemory()));
    const guestIds = cycle.resources.filter((r) => r.type !== "node").map((r) => r.hostId);
    const openGuestDown = new Set(
      (guestIds.length ? await openAlerts(this.#db, guestIds) : []).filter((a) => a.rule === PROXMOX_GUEST_DOWN && a.hostId !== null).map((a) => a.hostId!),
    );
    const observations = byFingerprint(judgeProxmoxCycle(cycle, memory, openGuestDown, this.#rules, now));
    if (!observations.size) return [];
    return this.#apply(observations, now);
  }

  /** The network device rules after a device's poll was stored (rules/snmp.ts). */
  async judgeSnmpDevice(device: StoredDevice, now = new Date()): Promise<Transition[]> {
    const observations = byFingerprint(judgeDevice(device, this.#rules));
    return observations.size ? this.#apply(observations, now) : [];
  }

  /**
   * Moves each observed alert from its stored state, under a transaction-level advisory lock:
   * several collectors judging the same alert at once take turns, and the second reads the
   * first's result, so a transition happens (and is paged) once.
   */
  async #apply(observations: Observed, now: Date): Promise<Transition[]> {
    const transitions = await this.#db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended('netmap-alert-state', 0))`.execute(trx);
      const stored = await loadAlerts(trx, [...observations.keys()]);
      const toSave: Array<Alert & { hostId: number | null }> = [];
      const dropped: string[] = [];
      const moved: Transition[] = [];
      for (const [key, { observation, hostId }] of observations) {
        const current = stored.get(key);
        const result = step(current, stillHidden(current, observation), now);
        if (result.alert && result.alert !== current) toSave.push({ ...result.alert, hostId });
        if (!result.alert && current) dropped.push(key);
        if (result.transition) moved.push(result.transition);
        else if (inhibitionLifted(current, result.alert)) moved.push({ alert: result.alert!, to: "firing" });
      }
      await saveAlerts(trx, toSave, dropped);
      // With the move, in its transaction: a collector killed after this commit still pages (outbox.ts).
      await enqueueTransitions(trx, moved);
      return moved;
    });
    for (const t of transitions) this.#log.info({ alert: t.alert.rule, severity: t.alert.severity, labels: t.alert.labels, state: t.to }, `alert ${t.to}`);
    if (transitions.length) this.#notify(transitions);
    return transitions;
  }
}
