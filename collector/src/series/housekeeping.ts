// The series housekeeper: partitions created ahead, rollups brought up to date,
// partitions past retention dropped. Every collector runs it once at start-up, before
// ingest (it needs today's partitions); then every minute on the holder of the
// housekeeping lease only. Runs never overlap (an advisory lock: two collectors starting
// together). A failed run is logged and the next one tries again.
import { sql } from "kysely";
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import { SERIES_TABLES, TIERS, tierTable, type Tier } from "./catalogue.ts";
import { dropPartitionsBefore, ensurePartitions, partitionStart } from "./partitions.ts";
import type { Retention } from "./retention.ts";
import { rollupState, rollUp } from "./rollups.ts";

const DAY_MS = 86_400_000;
/** Partitions exist this far ahead of now, so a stopped housekeeper leaves days to notice. */
const AHEAD_MS = 3 * DAY_MS;
/** Raw samples older than their retention are refused at ingest; partitions go a day further back for reports in flight. */
const SLACK_MS = DAY_MS;
const INTERVAL_MS = 60_000;

export interface HousekeepingRun {
  created: string[];
  dropped: string[];
  /** Steps of rollups made (each at most a few hours of history). */
  rollupSteps: number;
  /** False when another collector held the lock and this one did nothing. */
  ran: boolean;
}

const floorOf = (tier: Tier, retention: Retention, now: number) => partitionStart(now - retention[tier.name] * 1000, tier.partition);

/**
 * Creates the partitions the next days need: raw samples over their whole retention (or
 * from yesterday only, `recentOnly`, as `netmap migrate` does: serve's housekeeping adds
 * the rest), rollups from what is not rolled up yet.
 */
export async function preparePartitions(db: Db, retention: Retention, now: Date, recentOnly = false): Promise<string[]> {
  const at = now.getTime();
  const state = await rollupState(db);
  const rawFrom = at - (recentOnly ? 0 : retention.raw * 1000) - SLACK_MS;
  const created: string[] = [];
  for (const tier of TIERS) {
    const done = tier.name === "hour" ? state.hourDone.getTime() : state.minuteDone.getTime();
    const from = tier.name === "raw" ? rawFrom : Math.max(floorOf(tier, retention, at), Math.min(rawFrom, done));
    for (const table of SERIES_TABLES) created.push(...(await ensurePartitions(db, tierTable(table, tier), tier.partition, from, at + AHEAD_MS)));
  }
  return created;
}

/** One housekeeping run at `now`. */
export async function housekeep(db: Db, retention: Retention, now: Date): Promise<HousekeepingRun> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(hashtext('netmap.series.housekeeping')) AS locked`.execute(conn);
    if (!rows[0]!.locked) return { created: [], dropped: [], rollupSteps: 0, ran: false };
    try {
      const at = now.getTime();
      const created = await preparePartitions(conn, retention, now);
      const [, minute, hour] = TIERS as [Tier, Tier, Tier];
      const floors = { minute: floorOf(minute, retention, at), hour: floorOf(hour, retention, at) };
      let rollupSteps = 1;
      while (await rollUp(conn, now, floors)) rollupSteps++;
      // Raw partitions go once past retention and rolled up; rollup partitions once past theirs.
      const state = await rollupState(conn);
      const dropped: string[] = [];
      for (const tier of TIERS) {
        let before = at - retention[tier.name] * 1000;
        if (tier.name === "raw") before = Math.min(before - SLACK_MS, state.minuteDone.getTime(), state.hourDone.getTime());
        for (const table of SERIES_TABLES) dropped.push(...(await dropPartitionsBefore(conn, tierTable(table, tier), tier.partition, before)));
      }
      return { created, dropped, rollupSteps, ran: true };
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtext('netmap.series.housekeeping'))`.execute(conn);
    }
  });
}

export interface Housekeeping {
  stop(): Promise<void>;
}

/** The first run is awaited (ingest needs today's partitions); later ones run every minute. */
export async function startHousekeeping(options: {
  db: Db;
  retention: Retention;
  log: Logger;
  intervalMs?: number;
  /** Whether this collector holds the housekeeping lease (cluster/lease.ts); alone, it always does. */
  holdsLease?: () => boolean;
}): Promise<Housekeeping> {
  const { db, retention, log, holdsLease = () => true } = options;
  const runOnce = async () => {
    const started = performance.now();
    const run = await housekeep(db, retention, new Date());
    if (run.created.length || run.dropped.length) {
      log.info({ created: run.created.length, dropped: run.dropped, ms: Math.round(performance.now() - started) }, "series partitions created and dropped");
    }
  };
  await runOnce();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (!holdsLease()) return;
    running = running.then(runOnce).catch((error: unknown) => log.warn({ err: error }, "series housekeeping failed; next run in a minute"));
  }, options.intervalMs ?? INTERVAL_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
