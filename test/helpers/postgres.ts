// A fresh PostgreSQL database per test file on the machine's server, dropped after.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";

export const ADMIN_DATABASE_URL = process.env.NETMAP_TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * durable: false turns synchronous_commit off for every session of the database: commits no
 * longer wait for the WAL flush, the same statements and transactions otherwise. For a test that
 * commits per input (the HTTP fuzz's audit rows) on a loaded disk; a crash could lose the last
 * commits, which no such test looks at.
 */
export async function createTestDatabase(options: { durable?: boolean } = {}): Promise<TestDatabase> {
  const name = `netmap_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    if (options.durable === false) await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface MigratedDatabase extends TestDatabase {
  /** A connection to it, closed by drop(). */
  db: Db;
}

/** A fresh database migrated to the latest schema, with a connection to it. */
export async function createMigratedDatabase(): Promise<MigratedDatabase> {
  const database = await createTestDatabase();
  const db = openDatabase(database.url);
  const drop = async () => {
    await db.destroy();
    await database.drop();
  };
  try {
    await migrateToLatest(db);
  } catch (error) {
    await drop();
    throw error;
  }
  return { ...database, db, drop };
}
