import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import pg from "pg";
import { freePort } from "../../../scripts/lib/net.ts";
import { findPostgresBinDir, startPrivatePostgres } from "../../../scripts/services/postgres-cluster.ts";
import { ensureDatabase, postgresAddress, probePostgres } from "../../../scripts/services/postgres.ts";

const SHARED_POSTGRES = "postgres://127.0.0.1:5432/postgres";

describe("start script: PostgreSQL", () => {
  test("postgresAddress - reads host, port and database, with PostgreSQL's defaults", () => {
    assert.deepEqual(postgresAddress("postgres://u@db.example:6543/netmap"), { host: "db.example", port: 6543, database: "netmap" });
    assert.deepEqual(postgresAddress("postgres://127.0.0.1"), { host: "127.0.0.1", port: 5432, database: "postgres" });
  });

  test("probePostgres - is closed when nothing listens on the port", async () => {
    assert.equal(await probePostgres(`postgres://127.0.0.1:${await freePort()}/netmap`), "closed");
  });

  test("probePostgres - is other for a server that is not PostgreSQL", async () => {
    const server = createServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      assert.equal(await probePostgres(`postgres://127.0.0.1:${port}/netmap`), "other");
    } finally {
      server.close();
    }
  });

  test("probePostgres - recognises the machine's PostgreSQL, even before the database exists", async (t) => {
    const probe = await probePostgres("postgres://127.0.0.1:5432/no_such_database");
    if (probe === "closed") return t.skip("no PostgreSQL on 127.0.0.1:5432");
    assert.equal(probe, "postgres");
  });

  test("findPostgresBinDir - takes the newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl", () => {
    const root = mkdtempSync(join(tmpdir(), "netmap-pgroot-"));
    try {
      for (const [version, programs] of [["9.6", ["initdb", "pg_ctl"]], ["16", ["initdb", "pg_ctl"]], ["17", ["initdb"]]] as const) {
        mkdirSync(join(root, version, "bin"), { recursive: true });
        for (const program of programs) {
          writeFileSync(join(root, version, "bin", program), "#!/bin/sh\n");
          chmodSync(join(root, version, "bin", program), 0o755);
        }
      }
      assert.equal(findPostgresBinDir({ pathVariable: "", debianRoot: root }), join(root, "16", "bin"));
      assert.equal(findPostgresBinDir({ pathVariable: "", debianRoot: join(root, "missing") }), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("startPrivatePostgres - creates a cluster, serves it on the given port, creates the database and stops", { skip: findPostgresBinDir() ? false : "PostgreSQL is not installed", timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "netmap-start-pg-"));
    chmodSync(dir, 0o755); // as root the cluster belongs to the postgres user, which must enter it
    const port = await freePort();
    const cluster = await startPrivatePostgres({ binDir: findPostgresBinDir()!, dataDir: join(dir, "data"), port, logFile: join(dir, "postgres.log") });
    try {
      assert.equal(cluster.started, true);
      const url = `postgres://127.0.0.1:${port}/netmap_start_test`;
      assert.equal(await probePostgres(url), "postgres");
      assert.equal(await ensureDatabase(url), true);
      assert.equal(await ensureDatabase(url), false, "the second call finds the database");
      // As the current user, whose role the cluster has besides postgres.
      const client = new pg.Client({ connectionString: url.replace("//", `//${userInfo().username}@`) });
      await client.connect();
      const { rows } = await client.query("SELECT current_database() AS name");
      await client.end();
      assert.equal(rows[0].name, "netmap_start_test");
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(await probePostgres(`postgres://127.0.0.1:${port}/postgres`), "closed");
  });

  test("ensureDatabase - leaves an existing database alone", async (t) => {
    if ((await probePostgres(SHARED_POSTGRES)) !== "postgres") return t.skip("no PostgreSQL on 127.0.0.1:5432");
    assert.equal(await ensureDatabase(SHARED_POSTGRES), false);
  });
});
