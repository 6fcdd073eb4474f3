import { Kysely, Migrator, PostgresDialect, sql, type MigrationResultSet, type Transaction } from "kysely";
import pg from "pg";
import { preparePartitions } from "../series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../series/retention.ts";
import { migrations } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

// int8 (bigint) columns hold byte counts and ids well inside 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Db = Kysely<Database>;
/** What db.transaction().execute() hands its callback; repositories take `Db | Tx` or `Tx`. */
export type Tx = Transaction<Database>;

export function openDatabase(url: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 5_000 });
  // A client losing its server (PostgreSQL restarted, a link cut) must not crash the process:
  // the pool reports idle clients' errors, and each client gets a listener of its own for the
  // moment it is checked out between queries (pg emits the socket's error there, unheard).
  // The query in flight fails either way, and its caller retries.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: "netmap_migrations",
    migrationLockTableName: "netmap_migrations_lock",
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  // A migrated database takes today's samples: the sample tables have no partition by default.
  await preparePartitions(db, DEFAULT_RETENTION, new Date(), true);
  return result;
}

/** Resolves when the database answers a query; rejects with why not. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}
