// A host's latest state follows its agent's sequence, not its clock: a clock set back
// mid-boot (NTP stepping a fast clock back, a person fixing the date) must not freeze the
// latest state on the report dated in the future. Across boots collected_at decides.
// Through the ingest store, as the consumer calls it, on a real PostgreSQL.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { preparePartitions } from "../../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../../collector/src/series/retention.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const BOOT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const NEXT_BOOT = "1a2b3c4d-5e6f-4789-8abc-def012345678";
const HOUR = 3_600_000;

describe("ingest: the latest state is ordered by (boot, seq), not the agent's clock", () => {
  let database: TestDatabase;
  let db: Db;
  const now = Date.now();

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    await preparePartitions(db, DEFAULT_RETENTION, new Date(now));
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const store = (agentId: string, ...reports: Array<{ seq: number; at: number; boot?: string }>) =>
    storeBatch(db, reports.map(({ seq, at, boot }) => ({
      report: sampleReport({ agentId, bootId: boot ?? BOOT, seq, collectedAt: new Date(at), hostname: `seq-${seq}` }), receivedAt: new Date(),
    })));
  const latest = async (agentId: string) =>
    db.selectFrom("hosts").select(["hostname", "seq", "boot_id"]).where("agent_id", "=", agentId).executeTakeFirstOrThrow();

  test("a clock set back an hour mid-boot: the next reports still become the latest", async () => {
    await store("clock-a", { seq: 100, at: now });
    // The clock is stepped back: every later report is dated an hour before the stored one.
    const stored = await store("clock-a", { seq: 101, at: now - HOUR + 10_000 });
    assert.equal(stored.latest.length, 1, "the report is the host's latest");
    assert.deepEqual(await latest("clock-a"), { hostname: "seq-101", seq: 101, boot_id: BOOT });
    await store("clock-a", { seq: 102, at: now - HOUR + 20_000 });
    assert.equal((await latest("clock-a")).seq, 102);
  });

  test("within one batch, the highest seq of the boot wins whatever its date", async () => {
    const stored = await store("clock-b", { seq: 7, at: now + HOUR }, { seq: 8, at: now }, { seq: 6, at: now + 2 * HOUR });
    assert.deepEqual(stored.latest.map((l) => l.report.seq), [8]);
    assert.equal((await latest("clock-b")).seq, 8);
  });

  test("a late report of the same boot (a spool replay) stays in the series, even dated later", async () => {
    await store("clock-c", { seq: 20, at: now });
    const late = await store("clock-c", { seq: 19, at: now + HOUR });
    assert.equal(late.stored, 1, "in the series");
    assert.deepEqual(late.latest, [], "not the latest");
    assert.equal((await latest("clock-c")).seq, 20);
  });

  test("across boots collected_at decides: a new boot's report advances, the old boot's late one does not", async () => {
    await store("clock-d", { seq: 5_000, at: now });
    await store("clock-d", { seq: 3, at: now + 60_000, boot: NEXT_BOOT });
    assert.deepEqual(await latest("clock-d"), { hostname: "seq-3", seq: 3, boot_id: NEXT_BOOT });
    await store("clock-d", { seq: 5_001, at: now + 1_000 });
    assert.deepEqual(await latest("clock-d"), { hostname: "seq-3", seq: 3, boot_id: NEXT_BOOT }, "the old boot's seq is not comparable: its earlier date keeps it out");
  });
});
