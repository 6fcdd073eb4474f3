// GET /api/v1/hosts/:id/series: one metric of one host over a time range, read
// from the sample tables the ingest and the Proxmox poller fill. The catalogue
// below is the whole list of metrics; docs/architecture.md ("Series API") is its
// documentation. One SQL statement per request, ranged on (host_id, time) of the tier it
// picks (pickTier), after a read of how far the rollups are done.
import { sql, type RawBuilder } from "kysely";
import type { Db } from "../db/database.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import type { SeriesResponse, SeriesSource, SeriesUnit } from "../http/api-types.ts";
import { SERIES_TABLES, TIERS, tierTable, type SeriesTable, type Tier, type TierName } from "../series/catalogue.ts";
import { listPartitions } from "../series/partitions.ts";
import { rollupState } from "../series/rollups.ts";

export type { SeriesResponse, SeriesSource } from "../http/api-types.ts";

/** Where one metric comes from for one source: a table, an SQL value, and the label that tells series apart. */
interface SourceSpec {
  table: SeriesTable["raw"];
  /** SQL over the table's columns (a trusted constant, never user input). Null values are no sample. */
  value?: string;
  /** One series per value of this column, labelled with it (a query parameter of the same name picks one). */
  labelColumn?: string;
  /** Several series from one row: label value → SQL value. */
  fanOut?: Record<string, string>;
}

interface MetricSpec {
  unit: SeriesUnit;
  help: string;
  /** The label that tells this metric's series apart, if it has several. */
  label?: string;
  agent?: SourceSpec;
  proxmox?: SourceSpec;
  snmp?: SourceSpec;
}

/** A metric's only source, for the metrics that have one. */
const soleSource = (spec: MetricSpec): [SeriesSource, SourceSpec] =>
  spec.agent ? ["agent", spec.agent] : spec.proxmox ? ["proxmox", spec.proxmox] : ["snmp", spec.snmp!];

const report = (value: string): SourceSpec => ({ table: "report_samples", value });
const pve = (value: string): SourceSpec => ({ table: "proxmox_samples", value });
const mount = (value: string): SourceSpec => ({ table: "mount_samples", value, labelColumn: "mountpoint" });
const storage = (value: string): SourceSpec => ({ table: "proxmox_storage_samples", value, labelColumn: "storage" });
const port = (value: string): SourceSpec => ({ table: "snmp_interface_samples", value, labelColumn: "interface" });
const check = (value: string): SourceSpec => ({ table: "check_samples", value, labelColumn: "check_name" });

export const METRICS: Readonly<Record<string, MetricSpec>> = Object.freeze({
  cpu_busy_ratio: {
    unit: "ratio", help: "CPU time not idle, 0–1 of all the host's CPUs (Proxmox: of the guest's allotted CPUs)",
    agent: report("cpu_percent / 100.0"), proxmox: pve("cpu_percent / 100.0"),
  },
  cpu_mode_ratio: {
    unit: "ratio", help: "CPU time per mode, 0–1 of all CPUs", label: "mode",
    agent: { table: "report_samples", fanOut: {
      user: "cpu_user_percent / 100.0", system: "cpu_system_percent / 100.0",
      iowait: "cpu_iowait_percent / 100.0", steal: "cpu_steal_percent / 100.0",
    } },
  },
  load1: { unit: "1", help: "1-minute load average", agent: report("load1") },
  load5: { unit: "1", help: "5-minute load average", agent: report("load5") },
  load15: { unit: "1", help: "15-minute load average", agent: report("load15") },
  memory_used_bytes: {
    unit: "bytes", help: "memory in use (agent: total − available as the agent reports it; Proxmox: mem)",
    agent: report("memory_used_bytes"), proxmox: pve("memory_used_bytes"),
  },
  memory_available_bytes: { unit: "bytes", help: "memory available to new processes (MemAvailable)", agent: report("memory_available_bytes") },
  memory_total_bytes: { unit: "bytes", help: "memory size Proxmox gives the guest or node (maxmem)", proxmox: pve("memory_total_bytes") },
  swap_used_bytes: { unit: "bytes", help: "swap in use", agent: report("swap_used_bytes") },
  network_receive_bytes_per_second: {
    unit: "bytes_per_second", help: "bytes received per second, all non-virtual interfaces (Proxmox: netin)",
    agent: report("network_rx_bytes_per_second"), proxmox: pve("network_rx_bytes_per_second"),
  },
  network_transmit_bytes_per_second: {
    unit: "bytes_per_second", help: "bytes sent per second, all non-virtual interfaces (Proxmox: netout)",
    agent: report("network_tx_bytes_per_second"), proxmox: pve("network_tx_bytes_per_second"),
  },
  disk_read_bytes_per_second: {
    unit: "bytes_per_second", help: "bytes read per second, all disks (Proxmox: diskread)",
    agent: report("disk_read_bytes_per_second"), proxmox: pve("disk_read_bytes_per_second"),
  },
  disk_written_bytes_per_second: {
    unit: "bytes_per_second", help: "bytes written per second, all disks (Proxmox: diskwrite)",
    agent: report("disk_write_bytes_per_second"), proxmox: pve("disk_write_bytes_per_second"),
  },
  filesystem_size_bytes: { unit: "bytes", help: "file system size, per mount point", label: "mountpoint", agent: mount("size_bytes") },
  filesystem_used_bytes: { unit: "bytes", help: "file system space used, per mount point", label: "mountpoint", agent: mount("used_bytes") },
  filesystem_avail_bytes: {
    unit: "bytes", help: "file system space available to unprivileged users, per mount point", label: "mountpoint", agent: mount("available_bytes"),
  },
  filesystem_files: { unit: "1", help: "inodes, per mount point", label: "mountpoint", agent: mount("inodes_total") },
  filesystem_files_used: { unit: "1", help: "inodes in use, per mount point", label: "mountpoint", agent: mount("inodes_used") },
  proxmox_disk_size_bytes: { unit: "bytes", help: "the guest's root disk size as Proxmox gives it (maxdisk)", proxmox: pve("disk_total_bytes") },
  proxmox_disk_used_bytes: { unit: "bytes", help: "the guest's root disk use as Proxmox gives it (disk; 0 for most VMs)", proxmox: pve("disk_used_bytes") },
  proxmox_storage_size_bytes: { unit: "bytes", help: "a node's storage size, per storage", label: "storage", proxmox: storage("total_bytes") },
  proxmox_storage_used_bytes: { unit: "bytes", help: "a node's storage use, per storage", label: "storage", proxmox: storage("used_bytes") },
  proxmox_storage_avail_bytes: { unit: "bytes", help: "a node's storage space available, per storage", label: "storage", proxmox: storage("available_bytes") },
  interface_receive_bytes_per_second: { unit: "bytes_per_second", help: "a network device's interface, bytes received per second (SNMP octet counters)", label: "interface", snmp: port("in_bps / 8.0") },
  interface_transmit_bytes_per_second: { unit: "bytes_per_second", help: "a network device's interface, bytes sent per second (SNMP octet counters)", label: "interface", snmp: port("out_bps / 8.0") },
  interface_errors_per_second: { unit: "1", help: "a network device's interface, in + out errors per second", label: "interface", snmp: port("in_errors_per_second + out_errors_per_second") },
  interface_up_ratio: { unit: "ratio", help: "a network device's interface, the share of polls it was oper up", label: "interface", snmp: port("oper_up") },
  check_up_ratio: { unit: "ratio", help: "a synthetic check, the share of reports it succeeded in, per check", label: "check", agent: check("up") },
  check_latency_seconds: { unit: "seconds", help: "a synthetic check's latency (connect, or the whole HTTP exchange), per check", label: "check", agent: check("latency_seconds") },
});

export const METRIC_NAMES = Object.keys(METRICS).sort();

/** Prometheus's limit on points per series (query_range's "exceeded maximum resolution"). */
export const MAX_POINTS = 11_000;

export interface SeriesQuery {
  metric: string;
  from: Date;
  to: Date;
  /** Bucket width in seconds; null: raw samples, unless a series would hold more than MAX_POINTS. */
  stepSeconds: number | null;
  /** Forced source; null: the agent's reports when an agent reports on the host, else Proxmox. */
  source: SeriesSource | null;
  /** The one value of the metric's label to return (mountpoint=/ …); null: every series. */
  labelValue: string | null;
}


// ---------------------------------------------------------------------------
// Query-string parsing: every problem is a 400 that says what is wrong.

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new BadRequestError(`${name} given ${value.length} times; give it once`);
  return value === "" ? undefined : value;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const UNIX_SECONDS = /^-?\d+(\.\d+)?$/;

/** A time as Prometheus's query_range takes it: RFC 3339, or Unix seconds (fractions allowed). Millisecond resolution. */
export function parseTime(value: string, name: string): Date {
  let ms: number;
  if (UNIX_SECONDS.test(value)) {
    ms = Math.round(Number(value) * 1000);
  } else {
    const m = RFC3339.exec(value);
    ms = m ? Date.parse(value.replace(" ", "T")) : Number.NaN;
    // Date.parse rolls 2026-02-30 over to March; RFC 3339 does not.
    if (m && !Number.isNaN(ms)) {
      const [, y, mo, d] = m.map(Number) as [number, number, number, number];
      const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
      if (mo < 1 || mo > 12 || d < 1 || d > days || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) ms = Number.NaN;
    }
  }
  // PostgreSQL's timestamptz and JavaScript's Date both hold years 1970 ± a few thousand easily; keep to 0000–9999.
  if (!Number.isFinite(ms) || ms < -62_135_596_800_000 || ms > 253_402_300_799_000) {
    throw new BadRequestError(`${name}=${JSON.stringify(value)} is not a time: give RFC 3339 (2026-11-23T10:00:00Z) or Unix seconds (1795428000)`);
  }
  return new Date(ms);
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_SECONDS = [365 * 86_400, 7 * 86_400, 86_400, 3_600, 60, 1, 0.001];

/** A step as Prometheus takes it: a duration (30s, 5m, 1h30m, 1d) or seconds (15, 0.5). */
export function parseStep(value: string): number {
  let seconds = Number.NaN;
  if (UNIX_SECONDS.test(value)) seconds = Number(value);
  else {
    const m = DURATION.exec(value);
    if (m && value !== "") seconds = m.slice(1).reduce((sum, part, i) => sum + (part ? Number(part) * UNIT_SECONDS[i]! : 0), 0);
  }
  if (!Number.isFinite(seconds) || seconds < 0.001) {
    throw new BadRequestError(`step=${JSON.stringify(value)} is not a positive duration: give e.g. 30s, 5m, 1h or seconds (60)`);
  }
  return Math.round(seconds * 1000) / 1000;
}

/** Checks and reads the query string; `now` is the default `to`. */
export function parseSeriesQuery(query: Query, now = new Date()): SeriesQuery {
  const metric = single(query, "metric");
  if (!metric) throw new BadRequestError(`metric is required; one of: ${METRIC_NAMES.join(", ")}`);
  const spec = Object.hasOwn(METRICS, metric) ? METRICS[metric] : undefined;
  if (!spec) throw new BadRequestError(`unknown metric ${JSON.stringify(metric)}; known metrics: ${METRIC_NAMES.join(", ")}`);

  const toText = single(query, "to");
  const fromText = single(query, "from");
  const to = toText === undefined ? now : parseTime(toText, "to");
  const from = fromText === undefined ? new Date(to.getTime() - 3_600_000) : parseTime(fromText, "from");
  if (from > to) throw new BadRequestError(`from (${from.toISOString()}) is after to (${to.toISOString()})`);

  const stepText = single(query, "step");
  const stepSeconds = stepText === undefined ? null : parseStep(stepText);
  if (stepSeconds !== null) {
    const points = Math.floor((to.getTime() - from.getTime()) / (stepSeconds * 1000)) + 1;
    if (points > MAX_POINTS) {
      throw new BadRequestError(
        `step=${stepText} over ${(to.getTime() - from.getTime()) / 1000}s makes ${points} points per series, over the limit of ${MAX_POINTS}; use a larger step or a shorter range`,
      );
    }
  }

  const sourceText = single(query, "source");
  let source: SeriesSource | null = null;
  if (sourceText !== undefined) {
    if (sourceText !== "agent" && sourceText !== "proxmox" && sourceText !== "snmp") throw new BadRequestError(`source=${JSON.stringify(sourceText)}: give agent, proxmox or snmp`);
    if (!spec[sourceText]) {
      throw new BadRequestError(`metric ${metric} does not come from ${sourceText}; it comes from ${spec.agent && spec.proxmox ? "agent or proxmox" : soleSource(spec)[0]} only`);
    }
    source = sourceText;
  }

  let labelValue: string | null = null;
  if (spec.label) labelValue = single(query, spec.label) ?? null;
  for (const other of ["mountpoint", "storage", "mode", "interface", "check"]) {
    if (other !== spec.label && single(query, other) !== undefined) {
      throw new BadRequestError(`metric ${metric} has no ${other} label${spec.label ? `; its series are told apart by ${spec.label}` : ""}`);
    }
  }
  return { metric, from, to, stepSeconds, source, labelValue };
}

// ---------------------------------------------------------------------------
// The query.

interface Row {
  id: number;
  hostname: string;
  has_agent: boolean;
  series: string | null;
  t: number | null;
  v: number | null;
  bucketed: boolean | null;
}

/** Where a range's rows come from: a tier's table before `until` (its rollups are done), the raw samples from there on. */
interface Segment {
  tier: Tier;
  from: Date;
  /** Exclusive end, or null for up to q.to inclusive. */
  until: Date | null;
}

/**
 * The finest resolution that holds the whole range (its oldest partition begins at or before
 * `from`) and stays under the point cap (raw: at the agents' default 10 s interval), or, with
 * a step, the finest no coarser than the step; a range older than every finer tier takes the
 * coarsest that holds it.
 */
export function pickTier(q: Pick<SeriesQuery, "from" | "to" | "stepSeconds">, oldest: Record<TierName, number>): Tier {
  const rangeSeconds = (q.to.getTime() - q.from.getTime()) / 1000;
  const holds = (t: Tier) => q.from.getTime() >= oldest[t.name];
  const fits = (t: Tier) => (q.stepSeconds !== null ? t.seconds <= q.stepSeconds : rangeSeconds / (t.seconds || 10) <= MAX_POINTS);
  return TIERS.find((t) => holds(t) && fits(t)) ?? TIERS.find(holds) ?? TIERS[TIERS.length - 1]!;
}

/** When each tier of a table begins: its oldest partition's first day (+∞ with none). */
async function oldestPartitions(db: Db, table: SeriesTable): Promise<Record<TierName, number>> {
  const oldest = { raw: Infinity, minute: Infinity, hour: Infinity };
  for (const tier of TIERS) {
    const [first] = await listPartitions(db, tierTable(table, tier), tier.partition);
    if (first) oldest[tier.name] = first.from;
  }
  return oldest;
}

/** Rows (series, t, v, w) of one source over the segments, its branches gated by `gate` (evaluated once: PostgreSQL's one-time filter). */
function sourceRows(hostId: number, q: SeriesQuery, s: SourceSpec, segments: Segment[], gate: RawBuilder<boolean> | null): RawBuilder<unknown> {
  const table = SERIES_TABLES.find((t) => t.raw === s.table)!;
  return sql.join(
    segments.map(({ tier, from, until }) => {
      const time = sql.ref(tier.time);
      const end = until ? sql`${time} < ${until}` : sql`${time} <= ${q.to}`;
      const where = sql`host_id = ${hostId} AND ${time} >= ${from} AND ${end}${gate ? sql` AND ${gate}` : sql``}`;
      // A rollup row stands for its samples: a mean over several rows is weighted by them.
      const weight = tier.seconds ? sql`samples` : sql`1`;
      const from_ = sql.table(tierTable(table, tier));
      if (s.fanOut) {
        const pairs = Object.entries(s.fanOut).filter(([name]) => q.labelValue === null || name === q.labelValue);
        if (!pairs.length) return sql`SELECT NULL::text, NULL::timestamptz, NULL::float8, NULL::int WHERE false`;
        const values = sql.join(pairs.map(([name, value]) => sql`(${name}::text, (${sql.raw(value)})::float8)`));
        return sql`SELECT m.series, ${time}, m.v, ${weight} FROM ${from_} CROSS JOIN LATERAL (VALUES ${values}) AS m (series, v)
                   WHERE ${where} AND m.v IS NOT NULL`;
      }
      const value = sql.raw(s.value!);
      const label = s.labelColumn ? sql.ref(s.labelColumn) : sql`''`;
      const labelFilter = s.labelColumn && q.labelValue !== null ? sql` AND ${sql.ref(s.labelColumn)} = ${q.labelValue}` : sql``;
      return sql`SELECT ${label}::text, ${time}, (${value})::float8, ${weight} FROM ${from_}
                 WHERE ${where}${labelFilter} AND (${value}) IS NOT NULL`;
    }),
    sql` UNION ALL `,
  );
}

export async function querySeries(db: Db, hostId: number, q: SeriesQuery): Promise<SeriesResponse> {
  const spec = METRICS[q.metric]!;
  // Agent and Proxmox tables of a metric are partitioned alike: the first one tells.
  const tier = pickTier(q, await oldestPartitions(db, SERIES_TABLES.find((t) => t.raw === soleSource(spec)[1].table)!));
  const segments: Segment[] = [{ tier, from: q.from, until: null }];
  if (tier.seconds) {
    // Rollups are done up to a watermark; after it, the raw samples in the same buckets.
    const state = await rollupState(db);
    const done = tier.name === "hour" ? state.hourDone : state.minuteDone;
    if (done <= q.from) segments[0] = { tier: TIERS[0]!, from: q.from, until: null };
    else if (done <= q.to) segments.splice(0, 1, { tier, from: q.from, until: done }, { tier: TIERS[0]!, from: done, until: null });
  }
  const hasAgent = sql<boolean>`(SELECT has_agent FROM h)`;
  // Which branches run: a forced source, the only source, or (both known) the agent's when an agent reports.
  const branches: RawBuilder<unknown>[] = [];
  if (q.source) branches.push(sourceRows(hostId, q, spec[q.source]!, segments, null));
  else if (spec.agent && spec.proxmox) {
    branches.push(sourceRows(hostId, q, spec.agent, segments, hasAgent));
    branches.push(sourceRows(hostId, q, spec.proxmox, segments, sql<boolean>`NOT ${hasAgent}`));
  } else branches.push(sourceRows(hostId, q, soleSource(spec)[1], segments, null));
  const raw = sql.join(branches, sql` UNION ALL `);

  // Raw samples without a step stay raw unless a series would exceed MAX_POINTS; then, and
  // on a rollup tier always, points are buckets of a whole-second step at least the tier's.
  const rangeSeconds = (q.to.getTime() - q.from.getTime()) / 1000;
  const autoStep = Math.max(1, tier.seconds, Math.ceil(rangeSeconds / (MAX_POINTS - 1)));
  const step = q.stepSeconds ?? autoStep;
  const stepInterval = sql`make_interval(secs => ${step}::float8)`;
  // Buckets [from + k·step, from + (k+1)·step), each dated by its start: every point lies in [from, to].
  const bucketed = sql`SELECT series, extract(epoch FROM date_bin(${stepInterval}, t, ${q.from}::timestamptz))::float8 AS t,
                              sum(v * w) / sum(w) AS v, true AS bucketed
                       FROM raw GROUP BY series, 2`;
  const points =
    q.stepSeconds !== null || tier.seconds
      ? bucketed
      : sql`SELECT series, extract(epoch FROM t)::float8 AS t, v, false AS bucketed FROM raw WHERE (SELECT most FROM n) <= ${MAX_POINTS}
            UNION ALL
            (${bucketed} HAVING (SELECT most FROM n) > ${MAX_POINTS})`;

  const { rows } = await sql<Row>`
    WITH h AS (SELECT id, hostname, received_at IS NOT NULL AS has_agent FROM hosts WHERE id = ${hostId}),
    raw (series, t, v, w) AS MATERIALIZED (${raw}),
    n AS (SELECT coalesce(max(c), 0) AS most FROM (SELECT count(*) AS c FROM raw GROUP BY series) AS per_series)
    SELECT h.id, h.hostname, h.has_agent, p.series, p.t, p.v, p.bucketed
    FROM h LEFT JOIN (${points}) AS p ON true
    ORDER BY p.series, p.t`.execute(db);

  const first = rows[0];
  if (!first) throw new NotFoundError(`no host with id ${hostId}`);
  const source: SeriesSource = q.source ?? (spec.agent && spec.proxmox ? (first.has_agent ? "agent" : "proxmox") : soleSource(spec)[0]);
  const series: SeriesResponse["series"] = [];
  let current: SeriesResponse["series"][number] | undefined;
  let currentKey: string | null = null;
  let anyBucketed = false;
  for (const row of rows) {
    if (row.series === null || row.t === null || row.v === null) continue;
    if (row.bucketed) anyBucketed = true;
    if (!current || currentKey !== row.series) {
      currentKey = row.series;
      current = { labels: spec.label ? { [spec.label]: row.series } : {}, points: [] };
      series.push(current);
    }
    current.points.push([Math.round(row.t * 1000) / 1000, row.v]);
  }
  return {
    host: { id: first.id, hostname: first.hostname },
    metric: q.metric,
    unit: spec.unit,
    source,
    resolution: tier.name,
    from: q.from.getTime() / 1000,
    to: q.to.getTime() / 1000,
    step: q.stepSeconds ?? (anyBucketed ? autoStep : null),
    series,
  };
}
