// The change rules: judged on what changed between a host's previous report
// and this one, not on a value against a threshold. Pure: the previous
// history, the report and the host's open alerts in; observations and the
// next history out. The evaluator keeps the history in memory (like the
// windows); what must survive a collector restart — that a socket is gone,
// that a port is new, that an address changed — is read back from the open
// alerts, which live in PostgreSQL.
import type { HostReport, Listener, NetworkInterface } from "../../../../proto/gen/netmap/v1/report.ts";
import { REPORT_LIMITS } from "../../../../proto/src/report-check.ts";
import { protocolName } from "../../hosts/headline.ts";
import { fingerprint, type Alert, type Labels, type Observation, type Severity } from "../engine.ts";
import { settingsFor, type HostScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const HOST_REBOOTED = "HostRebooted";
export const LISTENER_GONE = "ListenerGone";
export const LISTENER_NEW = "ListenerNew";
export const ADDRESS_CHANGED = "AddressChanged";
export const CHANGE_RULE_NAMES: ReadonlySet<string> = new Set([HOST_REBOOTED, LISTENER_GONE, LISTENER_NEW, ADDRESS_CHANGED]);

export const CHANGE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [HOST_REBOOTED]: { enabled: true, forSeconds: 0 },
  // A minute rides out a service restart (a deploy, a logrotate reload) without paging.
  [LISTENER_GONE]: { enabled: true, forSeconds: 60, minReports: 3 },
  [LISTENER_NEW]: { enabled: true, forSeconds: 0, minReports: 3 },
  [ADDRESS_CHANGED]: { enabled: true, forSeconds: 0 },
};

/** A host counts as freshly booted below this uptime. */
export const REBOOT_UPTIME_SECONDS = 15 * 60;
/** A new listening port that has stayed this long is accepted: its alert resolves. */
export const LISTENER_ACCEPT_SECONDS = 24 * 3600;
/** An address change is an event: its alert resolves after this long. */
export const ADDRESS_EVENT_SECONDS = 3600;
/**
 * A socket gone is remembered this long, so a service coming back (after a
 * reboot, a restart that outlasted a report) is not taken for a new port.
 */
export const LISTENER_MEMORY_SECONDS = 24 * 3600;
/**
 * Sockets remembered per host, listening or gone: as many as one report may
 * hold. Keys are the agent's to choose, so an agent inventing new sockets
 * every report would otherwise grow this for a day; the most recently seen
 * are kept.
 */
export const MAX_LISTENER_TRACKS = REPORT_LIMITS.listeners;

const SEVERITY: Severity = "warning";

export interface ListenerTrack {
  protocol: string;
  address: string;
  port: number;
  process: string;
  /** Consecutive reports it has been in, up to the last one; 0 once gone. */
  streak: number;
  /** Seconds since the epoch of the last report it was in. */
  lastSeen: number;
}

export interface InterfaceIdentity {
  mac: string;
  /** Addresses without prefix length, IPv6 link-local left out, sorted. */
  addresses: readonly string[];
}

/** What the evaluator remembers of a host between its reports. */
export interface HostHistory {
  bootId: string;
  /** Reports judged for this host since the collector started. */
  reports: number;
  /** collectedAt of the last judged report, seconds since the epoch. */
  at: number;
  listeners: ReadonlyMap<string, ListenerTrack>;
  interfaces: ReadonlyMap<string, InterfaceIdentity>;
}

export interface ChangeContext extends HostScope {
  report: HostReport;
  /** Undefined for a host's first report since the collector started. */
  previous: HostHistory | undefined;
  /** The host's open (pending or firing) alerts, any rule. */
  open: readonly Alert[];
  now: Date;
}

/** The change observations of one report, and the history to keep for the next one. */
export function judgeChanges(context: ChangeContext, config: RulesConfig): { observations: Observation[]; history: HostHistory } {
  const { report, previous } = context;
  const t = report.collectedAt!.getTime() / 1000;
  if (previous && t <= previous.at) return { observations: [], history: previous }; // late or repeated

  const settings = (rule: string) => settingsFor(rule, CHANGE_DEFAULTS[rule]!, config, context);
  const failed = new Set(report.collectors.filter((c) => !c.success).map((c) => c.name));
  const listenersKnown = !failed.has("listeners");
  const interfacesKnown = !failed.has("interfaces");

  const history: HostHistory = {
    bootId: report.bootId,
    reports: (previous?.reports ?? 0) + 1,
    at: t,
    // A collector that failed this time says nothing about sockets or NICs: keep what was known.
    listeners: listenersKnown ? trackListeners(previous?.listeners, report.listeners, t) : (previous?.listeners ?? new Map()),
    interfaces: interfacesKnown ? trackInterfaces(previous?.interfaces, report.interfaces) : (previous?.interfaces ?? new Map()),
  };

  const out = new Map<string, Observation>();
  const put = (o: Observation) => out.set(fingerprint(o.rule, o.labels, o.severity), o);
  const openOf = (rule: string) => context.open.filter((a) => a.rule === rule);
  const clear = (a: Alert) => put(observe(a.rule, a.labels, a.annotations.summary ?? "", a.value, false, 0));
  const hold = (a: Alert, forSeconds: number) => put(observe(a.rule, a.labels, a.annotations.summary ?? "", a.value, true, forSeconds));

  for (const rule of CHANGE_RULE_NAMES) {
    const s = settings(rule);
    if (!s.enabled) {
      for (const a of openOf(rule)) clear(a); // disabled: what it raised is over
      continue;
    }
    if (rule === HOST_REBOOTED) rebooted(context, s, put);
    else if (rule === LISTENER_GONE && listenersKnown) listenerGone(context, s, history, put, hold, clear);
    else if (rule === LISTENER_NEW && listenersKnown) listenerNew(context, s, history, put, hold, clear);
    else if (rule === ADDRESS_CHANGED && interfacesKnown) addressChanged(context, s, history, put, hold, clear);
  }
  return { observations: [...out.values()], history };
}

type Put = (o: Observation) => void;
type Hold = (a: Alert, forSeconds: number) => void;
type Clear = (a: Alert) => void;

function observe(rule: string, labels: Labels, summary: string, value: number, active: boolean, forSeconds: number): Observation {
  return { rule, severity: SEVERITY, labels, annotations: { summary }, value, active, cleared: !active, forSeconds };
}

/** Booted since the previous report (boot id changed), or so recently that the reboot may have been too fast to look down. */
function rebooted({ host, report, previous, open }: ChangeContext, s: RuleSettings, put: Put): void {
  const uptime = report.os?.uptimeSeconds;
  const bootChanged = previous !== undefined && previous.bootId !== "" && report.bootId !== "" && previous.bootId !== report.bootId;
  // A short uptime keeps a reboot alert open (also across a collector restart), but does not
  // raise one: a host seen for the first time, just installed or given its agent, has a short
  // uptime without anyone having restarted it.
  const fresh = uptime !== undefined && uptime > 0 && uptime < REBOOT_UPTIME_SECONDS && open.some((a) => a.rule === HOST_REBOOTED);
  if (!bootChanged && uptime === undefined) return;
  const up = uptime !== undefined && uptime > 0 ? ` ${duration(uptime)} ago` : "";
  put(observe(HOST_REBOOTED, { host }, `${host} rebooted${up}${bootChanged ? " (boot id changed)" : ""}`, uptime ?? 0, bootChanged || fresh, s.forSeconds));
}

/** A socket seen in min_reports consecutive reports is missing; resolved when it listens again. */
function listenerGone({ host, previous, open }: ChangeContext, s: RuleSettings, history: HostHistory, put: Put, hold: Hold, clear: Clear): void {
  const minReports = s.minReports ?? 3;
  for (const [key, track] of previous?.listeners ?? []) {
    if (track.streak < minReports || (history.listeners.get(key)?.streak ?? 0) > 0 || isEphemeralPort(track.port)) continue;
    put(observe(LISTENER_GONE, listenerLabels(host, track), `${socketName(track)}${track.process ? ` (${track.process})` : ""} no longer listens on ${host}`, track.port, true, s.forSeconds));
  }
  // From the open alerts, not memory: a restarted collector still resolves them.
  for (const a of open) {
    if (a.rule !== LISTENER_GONE) continue;
    if ((history.listeners.get(alertSocketKey(a))?.streak ?? 0) > 0) clear(a);
    else hold(a, s.forSeconds);
  }
}

/** A port that did not listen before, on a host known for min_reports reports; resolved once accepted (24 h) or gone. */
function listenerNew({ host, previous, open, now }: ChangeContext, s: RuleSettings, history: HostHistory, put: Put, hold: Hold, clear: Clear): void {
  const minReports = s.minReports ?? 3;
  for (const a of open) {
    if (a.rule !== LISTENER_NEW) continue;
    const listening = (history.listeners.get(alertSocketKey(a))?.streak ?? 0) > 0;
    const accepted = (now.getTime() - a.activeSince.getTime()) / 1000 >= LISTENER_ACCEPT_SECONDS;
    if (!listening || accepted) clear(a);
    else hold(a, s.forSeconds);
  }
  if (!previous || previous.reports < minReports) return;
  for (const [key, track] of history.listeners) {
    if (track.streak === 0 || previous.listeners.has(key) || isEphemeralPort(track.port)) continue;
    put(observe(LISTENER_NEW, listenerLabels(host, track), `new listening socket ${socketName(track)}${track.process ? ` (${track.process})` : ""} on ${host}`, track.port, true, s.forSeconds));
  }
}

/** A known interface's MAC or addresses changed: an event, resolved after an hour. */
function addressChanged({ host, previous, open, now }: ChangeContext, s: RuleSettings, history: HostHistory, put: Put, hold: Hold, clear: Clear): void {
  for (const a of open) {
    if (a.rule !== ADDRESS_CHANGED) continue;
    const since = (a.startsAt ?? a.activeSince).getTime();
    if ((now.getTime() - since) / 1000 >= ADDRESS_EVENT_SECONDS) clear(a);
    else hold(a, s.forSeconds);
  }
  if (!previous) return;
  for (const [name, before] of previous.interfaces) {
    const after = history.interfaces.get(name);
    if (!after) continue; // gone from the report
    const changes: string[] = [];
    if (before.mac && after.mac && before.mac !== after.mac) changes.push(`MAC ${before.mac} → ${after.mac}`);
    if (before.addresses.length && before.addresses.join() !== after.addresses.join()) changes.push(`address ${before.addresses.join(", ")} → ${after.addresses.join(", ")}`);
    if (!changes.length) continue;
    put(observe(ADDRESS_CHANGED, { host, interface: name }, `${name} on ${host} changed: ${changes.join("; ")}`, 1, true, s.forSeconds));
  }
}

/**
 * Linux's default ephemeral range (net.ipv4.ip_local_port_range). A socket
 * listening there got its port from the kernel (rpc.statd, test servers, RMI):
 * it is expected to move, so neither its going (ListenerGone) nor its coming
 * (ListenerNew, which would otherwise page for every restart of such a
 * service) says anything.
 */
export function isEphemeralPort(port: number): boolean {
  return port >= 32768 && port <= 60999;
}

/** Sockets now listening (streak counted on), and those gone within the memory span (streak 0). */
export function trackListeners(previous: ReadonlyMap<string, ListenerTrack> | undefined, listeners: readonly Listener[], t: number): Map<string, ListenerTrack> {
  const next = new Map<string, ListenerTrack>();
  for (const l of listeners) {
    const socket = { protocol: protocolName(l.protocol), address: l.address, port: l.port };
    const key = socketKey(socket);
    if (next.has(key)) continue; // one socket per (protocol, address, port), whatever the processes sharing it
    const before = previous?.get(key);
    next.set(key, { ...socket, process: l.process || before?.process || "", streak: (before?.streak ?? 0) + 1, lastSeen: t });
  }
  const gone = [...(previous ?? [])].filter(([key, track]) => !next.has(key) && t - track.lastSeen < LISTENER_MEMORY_SECONDS);
  gone.sort(([, a], [, b]) => b.lastSeen - a.lastSeen);
  for (const [key, track] of gone.slice(0, Math.max(0, MAX_LISTENER_TRACKS - next.size))) next.set(key, { ...track, streak: 0 });
  return next;
}

/**
 * Each physical interface's identity. One that is down, virtual, or has no
 * address right now (DHCP not answered yet) keeps what was known: an address
 * lost is not an address changed. One missing from the report is forgotten:
 * names are the agent's to choose, and a NIC unplugged and back has nothing
 * to compare with, as on a host's first report.
 */
export function trackInterfaces(previous: ReadonlyMap<string, InterfaceIdentity> | undefined, interfaces: readonly NetworkInterface[]): Map<string, InterfaceIdentity> {
  const next = new Map<string, InterfaceIdentity>();
  for (const i of interfaces) {
    const known = previous?.get(i.name);
    if (i.virtual || !i.up) {
      if (known) next.set(i.name, known);
      continue;
    }
    const addresses = [...new Set(i.addresses.map((a) => a.address.toLowerCase()).filter((a) => !/^fe[89ab][0-9a-f]:/.test(a)))].sort();
    next.set(i.name, { mac: i.mac.toLowerCase() || known?.mac || "", addresses: addresses.length ? addresses : (known?.addresses ?? []) });
  }
  return next;
}

function socketKey(s: { protocol: string; address: string; port: number }): string {
  return `${s.protocol} ${s.address} ${s.port}`;
}

function alertSocketKey(a: Alert): string {
  return socketKey({ protocol: a.labels.protocol ?? "", address: a.labels.address ?? "", port: Number(a.labels.port) });
}

function listenerLabels(host: string, t: ListenerTrack): Labels {
  return { host, protocol: t.protocol, address: t.address, port: String(t.port), process: t.process };
}

function socketName(t: { protocol: string; address: string; port: number }): string {
  return `${t.protocol} ${t.address.includes(":") ? `[${t.address}]` : t.address}:${t.port}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
