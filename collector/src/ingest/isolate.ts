// No report can stall ingest. A batch whose transaction fails because of what
// is in it, not because the database is away, is split in halves until the
// report that fails alone is found; that one is rejected with PostgreSQL's
// reason and the others are stored. Costs 2·log2(batch) transactions per bad
// report, and nothing when all is well.
import type { Db } from "../db/database.ts";
import type { ReceivedReport, Rejection, StoreResult } from "./store.ts";

export type StoreBatch = (db: Db, reports: ReceivedReport[], rejections: Rejection[]) => Promise<StoreResult>;

/** A decoded report and where it came from, so that a failure can be recorded against it. */
export interface IncomingReport extends ReceivedReport {
  subject: string;
  sizeBytes: number;
}

export interface IsolatedResult {
  result: StoreResult;
  /** Reports the database would not take, each alone: recorded in rejected_reports with the rest. */
  unstorable: Rejection[];
}

/**
 * SQLSTATE classes that say the database (or the path to it) is not there,
 * or not now: connection (08), transaction rollback by serialization or
 * deadlock (40), insufficient resources (53), object not in prerequisite
 * state, such as a lock (55), operator intervention, such as admin shutdown
 * (57), system error (58), internal error (XX, a corrupted index fails every
 * report alike). Everything else — data exceptions (22), integrity (23),
 * program limits (54) — comes from the data.
 */
const AVAILABILITY_CLASSES = new Set(["08", "40", "53", "55", "57", "58", "XX"]);

/**
 * Whether a failed store should be retried as it is (true), or be blamed on
 * the batch. Errors without a SQLSTATE are the driver's (connection refused,
 * terminated, timed out), except the TypeError and RangeError our own code
 * throws on a value it cannot handle.
 */
export function isAvailabilityError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return AVAILABILITY_CLASSES.has(code.slice(0, 2));
  return !(error instanceof TypeError || error instanceof RangeError);
}

/**
 * Stores the reports and rejections; on a data error, bisects. Throws only an
 * availability error, to be retried whole: halves committed before it are
 * found already stored then (reports are idempotent on agent, boot and seq).
 */
export async function storeIsolating(store: StoreBatch, db: Db, reports: IncomingReport[], rejections: Rejection[]): Promise<IsolatedResult> {
  try {
    return { result: await store(db, reports, rejections), unstorable: [] };
  } catch (error) {
    if (isAvailabilityError(error) || !reports.length) throw error;
    if (reports.length === 1) {
      const { subject, sizeBytes } = reports[0]!;
      const unstorable = { subject, sizeBytes, reason: `the database refused it: ${(error as Error).message}` };
      // Rejections are made printable before they are written: this cannot fail on the data.
      return { result: await store(db, [], [...rejections, unstorable]), unstorable: [unstorable] };
    }
    const half = Math.ceil(reports.length / 2);
    const first = await storeIsolating(store, db, reports.slice(0, half), rejections);
    const second = await storeIsolating(store, db, reports.slice(half), []);
    return { result: merge(first.result, second.result), unstorable: [...first.unstorable, ...second.unstorable] };
  }
}

function merge(a: StoreResult, b: StoreResult): StoreResult {
  // The second half was stored last: where both moved a host forward, its report is the latest.
  const latest = new Map(a.latest.map((l) => [l.hostId, l]));
  for (const l of b.latest) latest.set(l.hostId, l);
  return { stored: a.stored + b.stored, duplicates: a.duplicates + b.duplicates, latest: [...latest.values()] };
}
