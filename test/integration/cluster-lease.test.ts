// Leases (collector/src/cluster/lease.ts) among several collectors on one database: each lease
// has one holder; when the holder stops, is SIGKILLed, or has its session ended, another
// collector takes it within a bounded time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import pino from "pino";
import { startLeases, type LeaseName, type Leases } from "../../collector/src/cluster/lease.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";

const CHECK_EVERY_MS = 300;
const NAMES: LeaseName[] = ["proxmox-poll", "absence-check"];
const log = pino({ level: "silent" });

describe("leases", () => {
  let database: TestDatabase;
  const running: Leases[] = [];
  const start = () => {
    const leases = startLeases({ databaseUrl: database.url, names: NAMES, log, checkEveryMs: CHECK_EVERY_MS });
    running.push(leases);
    return leases;
  };

  before(async () => (database = await createTestDatabase()));
  after(async () => {
    await Promise.all(running.map((l) => l.stop()));
    await database?.drop();
  });

  test("each lease has exactly one holder among three collectors, and a stopped holder's lease is taken within two checks", async () => {
    const all = [start(), start(), start()];
    await Promise.all(all.map((l) => l.ready));
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS * 2));
    for (const name of NAMES) assert.equal(all.filter((l) => l.holds(name)).length, 1, name);
    const holder = all.find((l) => l.holds("absence-check"))!;
    const stoppedAt = Date.now();
    await holder.stop();
    await eventually(() => all.filter((l) => l !== holder && l.holds("absence-check")).length === 1, "another holder", 5000);
    assert.ok(Date.now() - stoppedAt <= CHECK_EVERY_MS * 2 + 200, `took ${Date.now() - stoppedAt} ms`);
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS * 2));
    assert.equal(all.filter((l) => l.holds("absence-check")).length, 1);
  });

  test("a holder SIGKILLed loses its leases at once: another process takes them within two checks", async () => {
    const child = spawn(process.execPath, [new URL("../helpers/lease-holder.ts", import.meta.url).pathname, database.url, String(CHECK_EVERY_MS), "housekeeping"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes("held housekeeping"), "the child to hold the lease", 10_000);
    const here = startLeases({ databaseUrl: database.url, names: ["housekeeping"], log, checkEveryMs: CHECK_EVERY_MS });
    running.push(here);
    await here.ready;
    assert.equal(here.holds("housekeeping"), false);
    const killedAt = Date.now();
    child.kill("SIGKILL");
    await eventually(() => here.holds("housekeeping"), "the lease to be taken", 5000);
    assert.ok(Date.now() - killedAt <= CHECK_EVERY_MS * 2 + 500, `took ${Date.now() - killedAt} ms`);
  });

  test("a holder whose session is ended by the server knows it lost the lease, and takes it again", async () => {
    const leases = start();
    await eventually(() => leases.holds("proxmox-poll") || running.some((l) => l !== leases && l.holds("proxmox-poll")), "a holder", 5000);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'netmap-lease' AND datname = current_database()");
    } finally {
      await admin.end();
    }
    // Every holder's session is gone: within a few checks exactly one collector holds each lease again.
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS * 4));
    const live = running.filter((l) => l === leases || l.holds("proxmox-poll") || l.holds("absence-check"));
    for (const name of NAMES) await eventually(() => live.filter((l) => l.holds(name)).length === 1, `one holder of ${name}`, 5000);
  });
});
