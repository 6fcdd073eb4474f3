// Partitions of the series tables: created ahead of the data, dropped whole once
// past retention. Neither takes a lock that waits for ingest or makes it wait: a
// partition is created as a table of its own and attached (SHARE UPDATE EXCLUSIVE
// on the parent, which inserts do not conflict with), and detached CONCURRENTLY
// before it is dropped. So no default partition either (CONCURRENTLY refuses one):
// a sample outside every partition is refused, and ingest refuses reports dated
// outside the raw retention window before they get there (ingest/window.ts).
import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import type { PartitionWidth } from "./catalogue.ts";

const DAY_MS = 86_400_000;
/** Weekly partitions start on a Monday: 2000-01-03 was one. */
const MONDAY_MS = Date.UTC(2000, 0, 3);

/** Start of the partition holding `at` (UTC). */
export function partitionStart(at: number, width: PartitionWidth): number {
  const d = new Date(at);
  if (width === "day") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (width === "month") return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return MONDAY_MS + Math.floor((at - MONDAY_MS) / (7 * DAY_MS)) * 7 * DAY_MS;
}

/** Start of the partition after the one starting at `start`. */
export function partitionEnd(start: number, width: PartitionWidth): number {
  if (width === "day") return start + DAY_MS;
  if (width === "week") return start + 7 * DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const partitionName = (table: string, start: number) => `${table}_p${new Date(start).toISOString().slice(0, 10).replaceAll("-", "")}`;

export interface Partition {
  name: string;
  from: number;
  to: number;
}

/** The partitions attached to `table`, from their names (<table>_pYYYYMMDD), oldest first. */
export async function listPartitions(db: Db, table: string, width: PartitionWidth): Promise<Partition[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${table}::regclass AND NOT i.inhdetachpending ORDER BY 1`.execute(db);
  return rows.flatMap(({ name }) => {
    const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (!m) return [];
    const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return [{ name, from, to: partitionEnd(from, width) }];
  });
}

/** Creates the partitions of `table` missing between `from` and `to`; returns the names created. */
export async function ensurePartitions(db: Db, table: string, width: PartitionWidth, from: number, to: number): Promise<string[]> {
  const existing = new Set((await listPartitions(db, table, width)).map((p) => p.from));
  const created: string[] = [];
  for (let start = partitionStart(from, width); start < to; start = partitionEnd(start, width)) {
    if (existing.has(start)) continue;
    const name = partitionName(table, start);
    const bounds = sql`FROM (${sql.lit(new Date(start).toISOString())}) TO (${sql.lit(new Date(partitionEnd(start, width)).toISOString())})`;
    await sql`CREATE TABLE IF NOT EXISTS ${sql.table(name)} (LIKE ${sql.table(table)} INCLUDING ALL)`.execute(db);
    await sql`ALTER TABLE ${sql.table(table)} ATTACH PARTITION ${sql.table(name)} FOR VALUES ${bounds}`.execute(db);
    created.push(name);
  }
  return created;
}

/** Detaches and drops every partition of `table` that ends at or before `before`; returns the names dropped. */
export async function dropPartitionsBefore(db: Db, table: string, width: PartitionWidth, before: number): Promise<string[]> {
  // A detach interrupted half-way (the collector stopped) is finished first.
  const { rows: pending } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${table}::regclass AND i.inhdetachpending`.execute(db);
  for (const { name } of pending) await sql`ALTER TABLE ${sql.table(table)} DETACH PARTITION ${sql.table(name)} FINALIZE`.execute(db);
  const dropped: string[] = [];
  for (const p of await listPartitions(db, table, width)) {
    if (p.to > before) continue;
    await sql`ALTER TABLE ${sql.table(table)} DETACH PARTITION ${sql.table(p.name)} CONCURRENTLY`.execute(db);
    await sql`DROP TABLE ${sql.table(p.name)}`.execute(db);
    dropped.push(p.name);
  }
  for (const { name } of pending) await sql`DROP TABLE IF EXISTS ${sql.table(name)}`.execute(db);
  return [...pending.map((p) => p.name), ...dropped];
}
