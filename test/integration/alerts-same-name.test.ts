// Two hosts of one name (two unassigned agents that both call themselves web01) each get a
// HostDown of their own, told apart by host_id; a host whose name is its own keeps the
// fingerprint its alerts were always stored under. reportingHosts (PostgreSQL) says which
// names are shared, over every reporting host, even when asked about a few.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import pino from "pino";
import { fingerprint } from "../../collector/src/alerts/engine.ts";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts, reportingHosts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

describe("HostDown for hosts of the same name", () => {
  let database: TestDatabase;
  let db: Db;
  const ids: Record<string, number> = {};

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    for (const [agent, hostname] of [["a1", "web01"], ["a2", "web01"], ["a3", "db01"]] as const) {
      ids[agent] = (await db.insertInto("hosts").values({ agent_id: agent, hostname }).returning("id").executeTakeFirstOrThrow()).id;
    }
    // All three reported ten minutes ago, every 10 s: silent.
    await sql`UPDATE hosts SET received_at = now() - interval '10 minutes', collected_at = now() - interval '10 minutes', interval_seconds = 10`.execute(db);
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  test("reportingHosts says which names another reporting host shares, even asked about one host", async () => {
    const all = await reportingHosts(db);
    assert.deepEqual(all.map((h) => [h.hostId, h.host, h.sharedName ?? false]).sort(), [[ids.a1, "web01", true], [ids.a2, "web01", true], [ids.a3, "db01", false]].sort());
    assert.equal((await reportingHosts(db, [ids.a2!]))[0]!.sharedName, true);
  });

  test("each silent web01 fires its own HostDown; db01's keeps its fingerprint", async () => {
    const evaluator = new AlertEvaluator({ db, rules: rulesConfigSchema.parse({ HostDown: { for: "0s" } }), log: pino({ level: "silent" }), notify: () => {} });
    await evaluator.judgeSilence(await reportingHosts(db));
    const open = (await openAlerts(db)).filter((a) => a.rule === "HostDown");
    assert.deepEqual(open.map((a) => [a.labels.host, a.labels.host_id, a.state]).sort(), [["db01", undefined, "firing"], ["web01", String(ids.a1), "firing"], ["web01", String(ids.a2), "firing"]]);
    assert.equal(open.find((a) => a.labels.host === "db01")!.fingerprint, fingerprint("HostDown", { host: "db01" }, "critical"));
  });
});
