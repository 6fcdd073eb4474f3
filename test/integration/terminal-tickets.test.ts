// Terminal tickets in PostgreSQL: what one collector issues, another redeems, once, for the host
// it was issued for, until it expires by PostgreSQL's clock; the table holds digests, not tickets.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { ticketStore } from "../../collector/src/terminal/tickets.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

describe("terminal tickets in PostgreSQL", () => {
  let database: TestDatabase;
  let db: Db;
  const caller = { name: "alice", role: "operator" as const };

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  test("a ticket issued by one collector opens the host it was issued for on another, once", async () => {
    const [issuer, other] = [ticketStore(db), ticketStore(db)];
    const ticket = await issuer.issue(caller, "lab/ns/target");
    assert.equal(await other.redeem(ticket, "lab/ns/bastion1"), undefined, "not for another host");
    assert.equal(await other.redeem(ticket, "lab/ns/target"), undefined, "and a ticket tried on the wrong host is spent");
    const second = await issuer.issue(caller, "lab/ns/target");
    assert.deepEqual(await other.redeem(second, "lab/ns/target"), caller);
    assert.equal(await issuer.redeem(second, "lab/ns/target"), undefined, "used once");
    assert.equal(await other.redeem("not-a-ticket", "lab/ns/target"), undefined);
  });

  test("a ticket expires after its time, and expired ones are deleted at the next issue", async () => {
    const store = ticketStore(db, 1);
    const ticket = await store.issue(caller, "target");
    await sleep(1200);
    await store.issue(caller, "target");
    assert.equal(await store.redeem(ticket, "target"), undefined);
    const rows = await db.selectFrom("terminal_tickets").select(["digest", "caller_name", "host"]).execute();
    assert.equal(rows.length, 1, "the expired one is gone, the new one kept");
  });

  test("only the ticket's SHA-256 is stored", async () => {
    const ticket = await ticketStore(db).issue(caller, "web01");
    const rows = await db.selectFrom("terminal_tickets").select("digest").execute();
    assert.ok(rows.every((r) => r.digest.length === 32 && !r.digest.toString("latin1").includes(ticket)));
    assert.ok(rows.some((r) => r.digest.equals(createHash("sha256").update(ticket).digest())));
  });
});
