import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isAvailabilityError, storeIsolating, type IncomingReport, type StoreBatch } from "../../../collector/src/ingest/isolate.ts";
import type { Rejection } from "../../../collector/src/ingest/store.ts";
import type { Db } from "../../../collector/src/db/database.ts";
import { sampleReport } from "../../helpers/reports.ts";

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const incoming = (agentId: string): IncomingReport => ({ report: sampleReport({ agentId }), receivedAt: new Date(), subject: `netmap.v1.report.${agentId}`, sizeBytes: 100 });

/** A store that commits nothing with `bad` in it, and records what it committed. */
function fakeStore(bad: Set<string>, error: Error) {
  const committed: string[] = [];
  const rejected: Rejection[] = [];
  let calls = 0;
  const store: StoreBatch = async (_db, reports, rejections) => {
    calls++;
    if (reports.some((r) => bad.has(r.report.agentId))) throw error;
    committed.push(...reports.map((r) => r.report.agentId));
    rejected.push(...rejections);
    return { stored: reports.length, duplicates: 0, latest: reports.map((r, i) => ({ hostId: i, report: r.report })) };
  };
  return { store, committed, rejected, calls: () => calls };
}

describe("isolating a report the database refuses", () => {
  test("data and integrity errors are the batch's; connection, shutdown and resource errors are the database's", () => {
    for (const code of ["22003", "22021", "22P05", "23505", "54000", "42804"]) assert.equal(isAvailabilityError(pgError(code, "x")), false, code);
    for (const code of ["08006", "57P01", "57P03", "53300", "40001", "58030", "XX000"]) assert.equal(isAvailabilityError(pgError(code, "x")), true, code);
    assert.equal(isAvailabilityError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })), true);
    assert.equal(isAvailabilityError(new Error("Connection terminated unexpectedly")), true);
    assert.equal(isAvailabilityError(new RangeError("Invalid time value")), false);
  });

  test("splits the batch until the bad report is alone, rejects it with the reason and stores all the others", async () => {
    const fake = fakeStore(new Set(["c"]), pgError("22021", 'invalid byte sequence for encoding "UTF8": 0x00'));
    const reports = ["a", "b", "c", "d", "e", "f", "g", "h"].map(incoming);
    const earlier: Rejection = { subject: "netmap.v1.report.x", reason: "not a HostReport", sizeBytes: 3 };
    const { result, unstorable } = await storeIsolating(fake.store, {} as Db, reports, [earlier]);
    assert.deepEqual(fake.committed.sort(), ["a", "b", "d", "e", "f", "g", "h"]);
    assert.deepEqual(unstorable, [{ subject: "netmap.v1.report.c", sizeBytes: 100, reason: 'the database refused it: invalid byte sequence for encoding "UTF8": 0x00' }]);
    assert.deepEqual(fake.rejected.map((r) => r.subject), ["netmap.v1.report.x", "netmap.v1.report.c"], "the decode rejections are recorded once, with the unstorable one");
    assert.equal(result.stored, 7);
    assert.ok(fake.calls() <= 1 + 2 * Math.log2(8) + 1, `${fake.calls()} transactions`);
  });

  test("isolates two bad reports in one batch", async () => {
    const fake = fakeStore(new Set(["a", "f"]), pgError("22003", "integer out of range"));
    const { unstorable } = await storeIsolating(fake.store, {} as Db, ["a", "b", "c", "d", "e", "f"].map(incoming), []);
    assert.deepEqual(unstorable.map((r) => r.subject), ["netmap.v1.report.a", "netmap.v1.report.f"]);
    assert.deepEqual(fake.committed.sort(), ["b", "c", "d", "e"]);
  });

  test("a database that is away fails the whole batch, to be held and retried, and rejects nothing", async () => {
    const fake = fakeStore(new Set(["a", "b"]), pgError("57P01", "terminating connection due to administrator command"));
    await assert.rejects(storeIsolating(fake.store, {} as Db, ["a", "b", "c"].map(incoming), []), /administrator command/);
    assert.equal(fake.calls(), 1);
    assert.deepEqual(fake.rejected, []);
  });
});
