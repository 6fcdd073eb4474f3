import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { daysLeft, statusExpected } from "../../../agent/src/checks/probe.ts";
import { parseAddress } from "../../../proto/src/check-config.ts";

describe("synthetic checks", () => {
  test("counts a certificate's days left from its notAfter as Node prints it, negative once expired", () => {
    const now = new Date("2026-12-01T12:00:00Z");
    assert.equal(daysLeft("Dec  6 12:00:00 2026 GMT", now), 5);
    assert.equal(daysLeft("Nov 30 00:00:00 2026 GMT", now), -1.5);
    assert.equal(daysLeft("not a date", now), undefined);
  });

  test("expects any 2xx or 3xx unless a status is configured, then exactly that one", () => {
    assert.deepEqual([200, 204, 301, 399, 400, 503, 199].map((s) => statusExpected(s, undefined)), [true, true, true, true, false, false, false]);
    assert.deepEqual([204, 200].map((s) => statusExpected(s, 204)), [true, false]);
    assert.equal(statusExpected(503, 503), true, "a check may expect a maintenance page");
  });

  test("reads host:port and [v6]:port, and refuses a port out of range or an address without one", () => {
    assert.deepEqual(parseAddress("10.0.0.5:5432"), { host: "10.0.0.5", port: 5432 });
    assert.deepEqual(parseAddress("db.example:1"), { host: "db.example", port: 1 });
    assert.deepEqual(parseAddress("[2001:db8::5]:443"), { host: "2001:db8::5", port: 443 });
    for (const bad of ["db.example", "db:0", "db:65536", "2001:db8::5:443", "[db.example]:22", ":22", "a b:22"]) assert.equal(parseAddress(bad), undefined, bad);
  });
});
