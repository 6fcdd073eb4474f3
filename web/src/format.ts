// Formatting, ordering and URL parsing for the console: pure functions, no DOM, so the unit
// tests run them under Node (test/unit/web).
import type { AlertJson, AlertSeverity, HostOs, HostStatus, HostSummary } from "../../collector/src/http/api-types.ts";

export const DASH = "—";
/** What the console shows for a fact nobody has told NetMap. */
export const UNKNOWN = "unknown";
export const STATUSES: readonly HostStatus[] = ["down", "stale", "up", "unknown"];
const STATUS_ORDER: Record<string, number> = { down: 0, stale: 1, up: 2, unknown: 3 };
const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

export type Level = "none" | "ok" | "warn" | "crit";

export function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function scaled(value: number, base: number, units: string[]): string {
  let v = Math.abs(value);
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i += 1;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${value < 0 ? "-" : ""}${v.toFixed(digits)} ${units[i]}`;
}

/** Sizes in IEC units: 1536 → "1.50 KiB". */
export function formatBytes(bytes: number | null | undefined): string {
  return isNumber(bytes) ? scaled(bytes, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]) : DASH;
}

/** Byte rates in SI units (like iostat, ip -s): 1_500_000 → "1.50 MB/s". Absent = not measured. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  return isNumber(bytesPerSecond) ? scaled(bytesPerSecond, 1000, ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"]) : DASH;
}

export function formatPercent(percent: number | null | undefined): string {
  return isNumber(percent) ? `${percent.toFixed(1)}%` : DASH;
}

/** Link speed: 1000 → "1 Gb/s", 100 → "100 Mb/s". */
export function formatLinkSpeed(mbps: number | null | undefined): string {
  if (!isNumber(mbps) || mbps <= 0) return DASH;
  return mbps >= 1000 ? `${Number((mbps / 1000).toFixed(1))} Gb/s` : `${mbps} Mb/s`;
}

/** "4 s ago", "3 min ago"; null means the host never reported. */
export function formatAge(seconds: number | null | undefined): string {
  if (!isNumber(seconds)) return "never";
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Uptime-style duration, two units at most: "12 d 4 h", "3 h 12 min", "42 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (!isNumber(seconds) || seconds < 0) return DASH;
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** A short timing: 0.0123 → "12 ms", 1.5 → "1.50 s". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (!isNumber(seconds)) return DASH;
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

/** A local wall-clock timestamp an operator can read unambiguously: "2026-11-23 10:00:05". */
export function formatTimestamp(value: string | number | Date | null | undefined): string {
  const t = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value ?? "");
  if (!Number.isFinite(t)) return DASH;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A value of a series in its unit, as the charts' axes and hover legends show it. */
export function formatUnit(value: number | null | undefined, unit: "ratio" | "bytes" | "bytes_per_second" | "seconds" | "1" | "percent"): string {
  if (!isNumber(value)) return DASH;
  if (unit === "ratio") return formatPercent(value * 100);
  if (unit === "percent") return formatPercent(value);
  if (unit === "bytes") return formatBytes(value);
  if (unit === "bytes_per_second") return formatRate(value);
  if (unit === "seconds") return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
  return value.toFixed(2);
}

/** Colour band of a usage percentage: amber from 80, red from 90. */
export function usageLevel(percent: number | null | undefined): Level {
  if (!isNumber(percent)) return "none";
  return percent >= 90 ? "crit" : percent >= 80 ? "warn" : "ok";
}

/** Colour band of load per logical core: amber from 1, red from 2. */
export function loadLevel(load1: number | null | undefined, cores: number | null | undefined): Level {
  if (!isNumber(load1) || !isNumber(cores) || cores <= 0) return "none";
  const perCore = load1 / cores;
  return perCore >= 2 ? "crit" : perCore >= 1 ? "warn" : "ok";
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
export const compareText = (a: string | null | undefined, b: string | null | undefined): number => collator.compare(a ?? "", b ?? "");

/** Down first, then stale, up, unknown; by hostname (natural order) within a status. */
export function sortHosts<T extends Pick<HostSummary, "id" | "hostname" | "status">>(hosts: readonly T[]): T[] {
  return [...hosts].sort(
    (a, b) => (STATUS_ORDER[a.status] ?? 4) - (STATUS_ORDER[b.status] ?? 4) || compareText(a.hostname, b.hostname) || a.id - b.id,
  );
}

export function statusRank(status: string): number {
  return STATUS_ORDER[status] ?? 4;
}

export function countByStatus(hosts: readonly Pick<HostSummary, "status">[]): Record<HostStatus, number> {
  const counts: Record<HostStatus, number> = { up: 0, stale: 0, down: 0, unknown: 0 };
  for (const host of hosts) counts[host.status in counts ? host.status : "unknown"] += 1;
  return counts;
}

/** "#host=3" → 3; anything else → null. */
export function parseHostHash(hash: string): number | null {
  const id = new URLSearchParams(String(hash).replace(/^#/, "")).get("host");
  return id !== null && /^[0-9]{1,15}$/.test(id) ? Number(id) : null;
}

export type View = "hosts" | "alerts" | "map";

/** The view a hash links to ("#view=alerts"), or null. */
export function parseViewHash(hash: string): View | null {
  const view = new URLSearchParams(String(hash).replace(/^#/, "")).get("view");
  return view === "hosts" || view === "alerts" || view === "map" ? view : null;
}

/** "#token=abc&view=map" → { found: true, token: 'abc', rest: '#view=map' }. */
export function takeTokenFromHash(hash: string): { found: boolean; token: string | null; rest: string } {
  const params = new URLSearchParams(String(hash).replace(/^#/, ""));
  if (!params.has("token")) return { found: false, token: null, rest: String(hash) };
  const token = params.get("token")!.trim() || null;
  params.delete("token");
  const rest = params.toString();
  return { found: true, token, rest: rest ? `#${rest}` : "" };
}

export function osLabel(os: HostOs | null | undefined): string {
  if (!os) return UNKNOWN;
  return [os.distribution, os.release].filter(Boolean).join(" ") || UNKNOWN;
}

/** True when every word of a free-text filter is in one of the host's texts. */
export function hostMatches(host: HostSummary, query: string, extra: readonly string[] = []): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [host.hostname, host.agentId, host.status, osLabel(host.os), host.os?.kernel, host.os?.architecture, host.os?.virtualization,
    host.address, ...host.addresses, ...extra]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
  return words.every((word) => haystack.includes(word));
}

export interface HostAlerts {
  count: number;
  severity: AlertSeverity;
  rules: string[];
}

/** Open alerts per host id: how many, and the worst severity. Alerts without a host are left out. */
export function alertsByHost(alerts: readonly AlertJson[] | null | undefined): Map<number, HostAlerts> {
  const byHost = new Map<number, HostAlerts>();
  for (const alert of alerts ?? []) {
    if (!isNumber(alert.hostId)) continue;
    const seen = byHost.get(alert.hostId);
    const worse = !seen || (SEVERITY_ORDER[alert.severity] ?? 3) < (SEVERITY_ORDER[seen.severity] ?? 3);
    byHost.set(alert.hostId, { count: (seen?.count ?? 0) + 1, severity: worse ? alert.severity : seen.severity, rules: [...(seen?.rules ?? []), alert.rule] });
  }
  return byHost;
}

/** Firing before pending, then critical first, then oldest first: what to look at first on top. */
export function sortAlerts<T extends Pick<AlertJson, "state" | "severity" | "startsAt" | "activeSince">>(alerts: readonly T[]): T[] {
  const since = (a: T) => Date.parse(a.startsAt ?? a.activeSince ?? "") || 0;
  return [...alerts].sort(
    (a, b) =>
      (a.state === "firing" ? 0 : 1) - (b.state === "firing" ? 0 : 1) ||
      (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
      since(a) - since(b),
  );
}

export function severityRank(severity: string): number {
  return SEVERITY_ORDER[severity] ?? 3;
}

/** The `netmap ssh` command for a placed host, quoted for a POSIX shell when it must be. */
export function sshCommand(reference: string): string {
  return `netmap ssh ${/^[A-Za-z0-9._@%+=:,/-]+$/.test(reference) ? reference : `'${reference.replace(/'/g, `'\\''`)}'`}`;
}

/**
 * The polylines' `points` of a sparkline: one per run of known values, x the index, y 100 − the
 * value clamped to 0–100 (SVG's y grows downwards). A lone point is a dot-long line, still seen.
 */
export function sparklineRuns(values: ReadonlyArray<number | null>): string[] {
  const runs: string[][] = [[]];
  values.forEach((value, i) => {
    if (value === null) runs.push([]);
    else runs.at(-1)!.push(`${i},${(100 - Math.min(100, Math.max(0, value))).toFixed(1)}`);
  });
  return runs.filter((run) => run.length).map((run) => (run.length === 1 ? `${run[0]} ${run[0]}` : run.join(" ")));
}
