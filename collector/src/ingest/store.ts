// Stores a batch of reports in one transaction, a handful of set-based
// statements whatever the batch size (unnest over arrays, never a row loop):
// the series here, the host rows through hosts/writes.ts.
import { sql } from "kysely";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { printable, truncateUtf8 } from "../../../proto/src/report-check.ts";
import { pgNumbers, pgTexts, pgTimes } from "../db/arrays.ts";
import type { Db, Tx } from "../db/database.ts";
import { headline } from "../hosts/headline.ts";
import { advanceLatest, isLaterReport, upsertAgentHosts, type LatestState } from "../hosts/writes.ts";

export interface ReceivedReport {
  report: HostReport;
  /** The report's protobuf as received, stored as the host's latest (codec.ts decodeReceivedReport); encoded from `report` when absent. */
  bytes?: Uint8Array;
  receivedAt: Date;
}

export interface Rejection {
  subject: string;
  reason: string;
  sizeBytes: number;
}

export interface StoreResult {
  /** Reports stored for the first time. */
  stored: number;
  /** Reports already stored earlier (redelivery, spool replay) and skipped. */
  duplicates: number;
  /** The reports that became their host's latest state, one per host. */
  latest: Array<{ hostId: number; report: HostReport }>;
}


export async function storeBatch(db: Db, reports: ReceivedReport[], rejections: Rejection[] = []): Promise<StoreResult> {
  const unique = dedupe(reports);
  const known = knownBoots.get(db) ?? knownBoots.set(db, new Map()).get(db)!;
  return db.transaction().execute(async (trx) => {
    if (rejections.length) await recordRejections(trx, rejections);
    if (!unique.length) return { stored: 0, duplicates: reports.length, latest: [] };
    const hosts = await upsertAgentHosts(trx, unique);
    const candidates = unique.map((r) => {
      const host = hosts.get(r.report.agentId)!;
      return { ...r, hostId: host.id, storedInterfacesDigest: host.interfacesDigest, headline: headline(r.report) };
    });
    const fresh = await insertSamples(trx, known, candidates);
    await insertMountSamples(trx, fresh);
    await insertCheckSamples(trx, fresh);
    const advanced = await advanceLatest(trx, newestPerHost(fresh));
    await replaceLatestInterfaces(trx, advanced.filter((r) => r.interfacesChanged));
    return {
      stored: fresh.length,
      duplicates: reports.length - fresh.length,
      latest: advanced.map((r) => ({ hostId: r.hostId, report: r.report })),
    };
  });
}

function dedupe(reports: ReceivedReport[]): ReceivedReport[] {
  const seen = new Map<string, ReceivedReport>();
  for (const r of reports) seen.set(`${r.report.agentId}\u0000${r.report.bootId}\u0000${r.report.seq}`, r);
  return [...seen.values()];
}

/** Longest reason kept; a reason quotes the sender's data, which must not be what makes this insert fail. */
const REASON_MAX_BYTES = 2048;

async function recordRejections(trx: Tx, rejections: Rejection[]): Promise<void> {
  const text = (value: string) => printable(truncateUtf8(value, REASON_MAX_BYTES));
  await sql`
    INSERT INTO rejected_reports (subject, reason, size_bytes)
    SELECT * FROM unnest(${rejections.map((r) => text(r.subject))}::text[], ${rejections.map((r) => text(r.reason))}::text[],
                         ${rejections.map((r) => r.sizeBytes)}::int[])`.execute(trx);
}

/**
 * (host, boot) → host_boots id, per database, of boots that existed before the transaction
 * that asked (so committed: a rolled-back batch leaves no id here). A boot's id never
 * changes, so each collector asks PostgreSQL about a boot once, not on every report. An
 * entry of a host since deleted or adopted is simply never asked for again.
 */
const knownBoots = new WeakMap<Db, Map<string, number>>();
const KNOWN_BOOTS_MAX = 1_000_000;

/** The id of each (host, boot) of the reports, created on first sight: samples carry the id, not the boot's text. */
async function bootIds(trx: Tx, known: Map<string, number>, reports: LatestState[]): Promise<Map<string, number>> {
  const key = (hostId: number, bootId: string) => `${hostId}\u0000${bootId}`;
  const ids = new Map<string, number>();
  const wanted = new Map<string, { hostId: number; bootId: string }>();
  for (const r of reports) {
    const k = key(r.hostId, r.report.bootId);
    const id = known.get(k);
    if (id !== undefined) ids.set(k, id);
    else wanted.set(k, { hostId: r.hostId, bootId: r.report.bootId });
  }
  if (!wanted.size) return ids;
  const list = [...wanted.values()].sort((a, b) => a.hostId - b.hostId || (a.bootId < b.bootId ? -1 : 1));
  const lookup = sql<{ id: number; host_id: number; boot_id: string }>`
    SELECT b.id, b.host_id, b.boot_id FROM host_boots b
    JOIN unnest(${list.map((w) => w.hostId)}::bigint[], ${list.map((w) => w.bootId)}::text[]) AS w (host_id, boot_id)
      ON b.host_id = w.host_id AND b.boot_id = w.boot_id`;
  if (known.size > KNOWN_BOOTS_MAX) known.clear();
  for (const row of (await lookup.execute(trx)).rows) {
    ids.set(key(row.host_id, row.boot_id), row.id);
    known.set(key(row.host_id, row.boot_id), row.id);
  }
  const missing = list.filter((w) => !ids.has(key(w.hostId, w.bootId)));
  if (missing.length) {
    // Sorted, so two collectors meeting the same new boots wait on each other in one order.
    await sql`
      INSERT INTO host_boots (host_id, boot_id)
      SELECT * FROM unnest(${missing.map((w) => w.hostId)}::bigint[], ${missing.map((w) => w.bootId)}::text[])
      ON CONFLICT DO NOTHING`.execute(trx);
    for (const row of (await lookup.execute(trx)).rows) ids.set(key(row.host_id, row.boot_id), row.id);
  }
  return ids;
}

/** Inserts the time-series rows; returns only the reports not stored before. */
async function insertSamples(trx: Tx, known: Map<string, number>, reports: LatestState[]): Promise<LatestState[]> {
  const boots = await bootIds(trx, known, reports);
  const boot = (r: LatestState) => boots.get(`${r.hostId}\u0000${r.report.bootId}`)!;
  const col = (pick: (r: LatestState) => number | null | undefined) => pgNumbers(reports.map(pick));
  const { rows } = await sql<{ host_id: number; boot: number; seq: number }>`
    INSERT INTO report_samples (
      host_id, boot, seq, collected_at,
      cpu_percent, cpu_user_percent, cpu_system_percent, cpu_iowait_percent, cpu_steal_percent,
      load1, load5, load15, memory_used_bytes, memory_available_bytes, swap_used_bytes,
      disk_read_bytes_per_second, disk_write_bytes_per_second,
      network_rx_bytes_per_second, network_tx_bytes_per_second)
    SELECT * FROM unnest(
      ${col((r) => r.hostId)}::bigint[], ${col(boot)}::int[], ${col((r) => r.report.seq)}::bigint[],
      ${pgTimes(reports.map((r) => r.report.collectedAt!))}::timestamptz[],
      ${col((r) => r.report.cpu?.usagePercent)}::float8[], ${col((r) => r.report.cpu?.userPercent)}::float8[],
      ${col((r) => r.report.cpu?.systemPercent)}::float8[], ${col((r) => r.report.cpu?.iowaitPercent)}::float8[],
      ${col((r) => r.report.cpu?.stealPercent)}::float8[],
      ${col((r) => r.report.cpu?.load1 ?? 0)}::float8[], ${col((r) => r.report.cpu?.load5 ?? 0)}::float8[],
      ${col((r) => r.report.cpu?.load15 ?? 0)}::float8[],
      ${col((r) => r.report.memory?.usedBytes ?? 0)}::bigint[], ${col((r) => r.report.memory?.availableBytes ?? 0)}::bigint[],
      ${col((r) => r.report.memory?.swapUsedBytes ?? 0)}::bigint[],
      ${col((r) => r.headline.diskReadBytesPerSecond)}::float8[], ${col((r) => r.headline.diskWriteBytesPerSecond)}::float8[],
      ${col((r) => r.headline.networkRxBytesPerSecond)}::float8[], ${col((r) => r.headline.networkTxBytesPerSecond)}::float8[])
    ON CONFLICT DO NOTHING
    RETURNING host_id, boot, seq`.execute(trx);
  const inserted = new Set(rows.map((row) => `${row.host_id}\u0000${row.boot}\u0000${row.seq}`));
  return reports.filter((r) => inserted.has(`${r.hostId}\u0000${boot(r)}\u0000${r.report.seq}`));
}

async function insertMountSamples(trx: Tx, reports: LatestState[]): Promise<void> {
  const rows = reports.flatMap((r) => r.report.mounts.map((m) => ({ r, m })));
  if (!rows.length) return;
  const col = (pick: (m: HostReport["mounts"][number]) => number) => pgNumbers(rows.map(({ m }) => pick(m)));
  await sql`
    INSERT INTO mount_samples (host_id, mountpoint, collected_at, size_bytes, used_bytes, available_bytes, inodes_total, inodes_used)
    SELECT * FROM unnest(
      ${pgNumbers(rows.map(({ r }) => r.hostId))}::bigint[], ${pgTexts(rows.map(({ m }) => m.mountpoint))}::text[],
      ${pgTimes(rows.map(({ r }) => r.report.collectedAt!))}::timestamptz[],
      ${col((m) => m.sizeBytes)}::bigint[], ${col((m) => m.usedBytes)}::bigint[], ${col((m) => m.availableBytes)}::bigint[],
      ${col((m) => m.inodesTotal)}::bigint[], ${col((m) => m.inodesUsed)}::bigint[])
    ON CONFLICT DO NOTHING`.execute(trx);
}

/** Each report's check results as they stand at that report (a check runs on its own interval): the host page's check charts. */
async function insertCheckSamples(trx: Tx, reports: LatestState[]): Promise<void> {
  const rows = reports.flatMap((r) => r.report.checks.map((c) => ({ r, c })));
  if (!rows.length) return;
  await sql`
    INSERT INTO check_samples (host_id, check_name, collected_at, up, latency_seconds)
    SELECT * FROM unnest(
      ${pgNumbers(rows.map(({ r }) => r.hostId))}::bigint[], ${pgTexts(rows.map(({ c }) => c.name))}::text[],
      ${pgTimes(rows.map(({ r }) => r.report.collectedAt!))}::timestamptz[],
      ${pgNumbers(rows.map(({ c }) => (c.success ? 1 : 0)))}::float8[], ${pgNumbers(rows.map(({ c }) => c.latencySeconds))}::float8[])
    ON CONFLICT DO NOTHING`.execute(trx);
}

function newestPerHost(reports: LatestState[]): LatestState[] {
  const newest = new Map<number, LatestState>();
  for (const r of reports) {
    const current = newest.get(r.hostId);
    if (!current || isLaterReport(r.report, current.report)) newest.set(r.hostId, r);
  }
  return [...newest.values()].sort((a, b) => a.hostId - b.hostId);
}

/**
 * Replaces the interfaces of the hosts whose interfaces changed (SNMP and adoption match
 * hosts by MAC there); mounts and listeners are read from the latest report itself.
 */
async function replaceLatestInterfaces(trx: Tx, reports: LatestState[]): Promise<void> {
  if (!reports.length) return;
  const nics = reports.flatMap((r) => r.report.interfaces.map((i) => ({ hostId: r.hostId, i })));
  await sql`DELETE FROM host_interfaces WHERE host_id = ANY(${reports.map((r) => r.hostId)}::bigint[])`.execute(trx);
  if (nics.length) {
    await sql`
      INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual)
      SELECT n.host_id, n.name, n.mac, ARRAY(SELECT jsonb_array_elements_text(n.addresses)), n.up, n.virtual
      FROM unnest(${nics.map((x) => x.hostId)}::bigint[], ${nics.map((x) => x.i.name)}::text[], ${nics.map((x) => x.i.mac)}::text[],
                  ${nics.map((x) => JSON.stringify(x.i.addresses.map((a) => `${a.address}/${a.prefixLength}`)))}::jsonb[],
                  ${nics.map((x) => x.i.up)}::bool[], ${nics.map((x) => x.i.virtual)}::bool[])
           AS n(host_id, name, mac, addresses, up, virtual)
      ON CONFLICT DO NOTHING`.execute(trx);
  }
}
