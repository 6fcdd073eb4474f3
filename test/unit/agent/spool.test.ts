import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pino from "pino";
import { decodeRecord, encodeRecord, openSpool } from "../../../agent/src/spool.ts";

const silent = pino({ level: "silent" });
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "netmap-spool-unit-"));
  dirs.push(dir);
  return join(dir, "reports");
};
const payload = (n: number, size = 100) => new Uint8Array(size).fill(n);
const drain = (spool: ReturnType<typeof openSpool>) => {
  const out: number[] = [];
  for (let next = spool.peek(); next; next = spool.peek()) {
    out.push(next.payload[0]!);
    spool.remove(next.entry);
  }
  return out;
};

describe("agent spool", () => {
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("spool - gives records back oldest first, and keeps them across a reopen", () => {
    const dir = freshDir();
    const spool = openSpool({ dir, log: silent });
    [1, 2, 3].forEach((n) => spool.append(payload(n)));
    assert.deepEqual(spool.stats(), { reports: 3, bytes: 3 * 112, droppedTotal: 0 });
    const reopened = openSpool({ dir, log: silent });
    reopened.append(payload(4));
    assert.deepEqual(drain(reopened), [1, 2, 3, 4]);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("spool - drops the oldest records beyond its bound and counts them", () => {
    const spool = openSpool({ dir: freshDir(), maxBytes: 350, log: silent });
    [1, 2, 3, 4, 5].forEach((n) => spool.append(payload(n)));
    assert.equal(spool.stats().droppedTotal, 2);
    assert.deepEqual(drain(spool), [3, 4, 5]);
  });

  it("spool - never drops the record being replayed: it may arrive, so the bound takes the next oldest", () => {
    const spool = openSpool({ dir: freshDir(), maxBytes: 350, log: silent });
    [1, 2, 3].forEach((n) => spool.append(payload(n)));
    const sending = spool.peek()!;
    assert.equal(sending.payload[0], 1);
    [4, 5].forEach((n) => spool.append(payload(n)));
    assert.equal(spool.stats().droppedTotal, 2);
    spool.remove(sending.entry); // acknowledged: record 1 arrived
    assert.deepEqual(drain(spool), [4, 5]);
    // Once removed, it is no longer spared.
    const spool2 = openSpool({ dir: freshDir(), maxBytes: 350, log: silent });
    [1, 2, 3].forEach((n) => spool2.append(payload(n)));
    spool2.remove(spool2.peek()!.entry);
    [4, 5].forEach((n) => spool2.append(payload(n)));
    assert.deepEqual(drain(spool2), [3, 4, 5]);
  });

  it("spool - skips a torn or corrupted record, counts it, and returns the rest", () => {
    const dir = freshDir();
    const spool = openSpool({ dir, log: silent });
    [1, 2, 3, 4].forEach((n) => spool.append(payload(n)));
    const [first, second] = readdirSync(dir).sort();
    truncateSync(join(dir, first!), 50);
    const damaged = readFileSync(join(dir, second!));
    damaged[damaged.length - 1] = damaged.at(-1)! ^ 0xff;
    writeFileSync(join(dir, second!), damaged);
    // A crash between write and rename leaves a .tmp, which is not a record.
    writeFileSync(join(dir, "0000000000000099.report.tmp"), "half");
    const reopened = openSpool({ dir, log: silent });
    assert.deepEqual(drain(reopened), [3, 4]);
    assert.equal(reopened.stats().droppedTotal, 2);
    assert.deepEqual(readdirSync(dir), ["dropped-total"]);
  });

  it("spool - keeps the count of lost reports across a restart, so a count not yet reported is not lost with the process", () => {
    const dir = freshDir();
    const spool = openSpool({ dir, maxBytes: 350, log: silent });
    [1, 2, 3, 4, 5].forEach((n) => spool.append(payload(n)));
    assert.equal(spool.stats().droppedTotal, 2);
    const reopened = openSpool({ dir, maxBytes: 350, log: silent });
    assert.equal(reopened.stats().droppedTotal, 2);
    reopened.append(payload(6));
    assert.equal(reopened.stats().droppedTotal, 3);
    assert.deepEqual(drain(reopened), [4, 5, 6]);

    writeFileSync(join(dir, "dropped-total"), "garbage");
    const warnings: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
    assert.equal(openSpool({ dir, log }).stats().droppedTotal, 0);
    assert.match(warnings.join(""), /dropped-report count unreadable/);
  });

  it("decodeRecord - names what is wrong with a record", () => {
    const record = encodeRecord(payload(7, 10));
    assert.deepEqual(new Uint8Array(decodeRecord(record) as Uint8Array), payload(7, 10));
    assert.equal(decodeRecord(record.subarray(0, 5)), "torn header (5 bytes)");
    assert.equal(decodeRecord(record.subarray(0, 15)), "torn record (3 of 10 bytes)");
    assert.equal(decodeRecord(Buffer.from("x".repeat(20))), "not a spool record");
  });
});
