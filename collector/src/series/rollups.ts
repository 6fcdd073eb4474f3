// Minute and hour rollups (count, mean, min, max per metric and per label),
// computed from the raw samples, so computing a bucket again gives the same row:
// a re-run or a replayed report cannot count twice.
//
// Incremental: series_rollup_state says up to when each tier is done. A run
// first announces how far it will go (minute_announced); every insert below the
// announced time logs its (host, minute) in series_rollup_invalid (a statement
// trigger), and the run recomputes those buckets. Between the announcement and
// the computation the run waits until every transaction that began before it has
// ended, so a sample is either visible to the computation or logged — without
// any lock that would make ingest wait.
import { sql, type RawBuilder } from "kysely";
import type { Db } from "../db/database.ts";
import { BUCKET_ORIGIN, SERIES_TABLES, TIERS, tierTable, type SeriesTable, type Tier } from "./catalogue.ts";

const ROLLUP_TIERS = TIERS.filter((t) => t.seconds > 0);
/** A minute is summarised once this long has passed after it; later samples are caught by the log. */
const SETTLE_MS = 10_000;
/** Most time rolled up in one transaction, so a long history (after the migration) goes in steps. */
const STEP_MS = 6 * 3_600_000;
const WAIT_MS = 60_000;

export interface RollupState {
  minuteAnnounced: Date;
  minuteDone: Date;
  hourDone: Date;
}

export class RollupWaitError extends Error {
  override name = "RollupWaitError";
}

export async function rollupState(db: Db): Promise<RollupState> {
  const { rows } = await sql<{ minute_announced: Date; minute_done: Date; hour_done: Date }>`
    SELECT minute_announced, minute_done, hour_done FROM series_rollup_state`.execute(db);
  const r = rows[0]!;
  return { minuteAnnounced: r.minute_announced, minuteDone: r.minute_done, hourDone: r.hour_done };
}

const floorTo = (ms: number, seconds: number) => {
  const origin = Date.parse(BUCKET_ORIGIN);
  return origin + Math.floor((ms - origin) / (seconds * 1000)) * seconds * 1000;
};

/**
 * One step of rollups, up to `now` less a settling time, at most STEP_MS of
 * history. `floors` gives, per tier, the oldest bucket still kept (partitions
 * exist from there). Returns true when there is more history to roll up.
 */
export async function rollUp(db: Db, now: Date, floors: Record<"minute" | "hour", number>): Promise<boolean> {
  const state = await rollupState(db);
  const reachable = floorTo(now.getTime() - SETTLE_MS, 60);
  const target = Math.min(reachable, state.minuteDone.getTime() + STEP_MS);
  if (target > state.minuteAnnounced.getTime()) {
    await sql`UPDATE series_rollup_state SET minute_announced = ${new Date(target)}`.execute(db);
  }
  const announced = Math.max(target, state.minuteAnnounced.getTime());
  await waitForEarlierTransactions(db);

  await db.transaction().execute(async (trx) => {
    const minuteFrom = Math.max(state.minuteDone.getTime(), floors.minute);
    const hourTo = floorTo(announced, 3600);
    const hourFrom = Math.max(state.hourDone.getTime(), floors.hour);
    for (const table of SERIES_TABLES) {
      const [minute, hour] = ROLLUP_TIERS as [Tier, Tier];
      if (announced > minuteFrom) await rollupRange(table, minute, minuteFrom, announced).execute(trx);
      if (hourTo > hourFrom) await rollupRange(table, hour, hourFrom, hourTo).execute(trx);
    }
    const { rows } = await sql<{ series: string; host_id: number; minute: Date }>`
      DELETE FROM series_rollup_invalid RETURNING series, host_id, minute`.execute(trx);
    for (const table of SERIES_TABLES) {
      const logged = rows.filter((r) => r.series === table.raw);
      for (const tier of ROLLUP_TIERS) {
        const keys = new Map<string, { hostId: number; bucket: number }>();
        for (const r of logged) {
          const bucket = floorTo(r.minute.getTime(), tier.seconds);
          if (bucket >= floors[tier.name as "minute" | "hour"]) keys.set(`${r.host_id}/${bucket}`, { hostId: r.host_id, bucket });
        }
        if (keys.size) await rollupBuckets(table, tier, [...keys.values()]).execute(trx);
      }
    }
    await sql`
      UPDATE series_rollup_state SET minute_done = greatest(minute_done, ${new Date(announced)}),
        hour_done = greatest(hour_done, ${new Date(hourTo)})`.execute(trx);
  });
  return target < reachable;
}

/** Waits until every transaction that had an id when this was called has ended. */
async function waitForEarlierTransactions(db: Db): Promise<void> {
  const { rows } = await sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`.execute(db);
  const xid = rows[0]!.xid;
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 1000)) {
    const { rows: done } = await sql<{ done: boolean }>`SELECT pg_snapshot_xmin(pg_current_snapshot()) > ${xid}::xid8 AS done`.execute(db);
    if (done[0]!.done) return;
    if (Date.now() > deadline) {
      throw new RollupWaitError(`a transaction older than ${WAIT_MS / 1000}s is still open (idle in transaction?); rollups wait for it`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

const bucketOf = (tier: Tier) => sql`date_bin(${sql.lit(`${tier.seconds} seconds`)}::interval, r.collected_at, ${sql.lit(BUCKET_ORIGIN)}::timestamptz)`;

/** INSERT … SELECT the tier's rows from the raw rows `from` picks, replacing rows already there. */
function upsert(table: SeriesTable, tier: Tier, from: RawBuilder<unknown>) {
  const labels = table.labels.map((l) => sql.ref(`r.${l}`));
  const target = sql.table(tierTable(table, tier));
  const columns = ["host_id", ...table.labels, "bucket", "samples", ...table.metrics.flatMap((m) => [m, `${m}_min`, `${m}_max`])];
  const aggregates = table.metrics.map((m) => sql`avg(r.${sql.ref(m)})::float8, min(r.${sql.ref(m)})::float8, max(r.${sql.ref(m)})::float8`);
  const key = ["host_id", "bucket", ...table.labels];
  const updates = columns.filter((c) => !key.includes(c)).map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`);
  return sql`
    INSERT INTO ${target} (${sql.join(columns.map((c) => sql.ref(c)))})
    SELECT r.host_id, ${sql.join([...labels, bucketOf(tier)])}, count(*)::int, ${sql.join(aggregates)}
    FROM ${from}
    GROUP BY r.host_id, ${sql.join([...labels, bucketOf(tier)])}
    ON CONFLICT (${sql.join(key.map((c) => sql.ref(c)))}) DO UPDATE SET ${sql.join(updates)}`;
}

function rollupRange(table: SeriesTable, tier: Tier, from: number, to: number) {
  return upsert(table, tier, sql`${sql.table(table.raw)} r WHERE r.collected_at >= ${new Date(from)} AND r.collected_at < ${new Date(to)}`);
}

function rollupBuckets(table: SeriesTable, tier: Tier, keys: Array<{ hostId: number; bucket: number }>) {
  const from = Math.min(...keys.map((k) => k.bucket));
  const to = Math.max(...keys.map((k) => k.bucket)) + tier.seconds * 1000;
  const width = sql.lit(`${tier.seconds} seconds`);
  return upsert(
    table,
    tier,
    sql`unnest(${keys.map((k) => k.hostId)}::bigint[], ${keys.map((k) => new Date(k.bucket).toISOString())}::timestamptz[]) AS k (host_id, bucket)
        JOIN ${sql.table(table.raw)} r ON r.host_id = k.host_id AND r.collected_at >= k.bucket AND r.collected_at < k.bucket + ${width}::interval
        WHERE r.collected_at >= ${new Date(from)} AND r.collected_at < ${new Date(to)}`,
  );
}
