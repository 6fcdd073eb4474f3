import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkReportTime, ReportOutOfWindowError } from "../../../collector/src/ingest/window.ts";
import { partitionEnd, partitionStart } from "../../../collector/src/series/partitions.ts";

describe("the time window a report's samples may carry", () => {
  const received = new Date("2026-12-01T12:00:00Z");
  const DAY = 86_400;

  test("takes a report from within the raw retention up to a day ahead of the collector's clock", () => {
    checkReportTime(new Date("2026-11-18T12:00:01Z"), received, 13 * DAY);
    checkReportTime(new Date("2026-12-02T11:59:59Z"), received, 13 * DAY);
  });

  test("refuses a report older than the raw retention or more than a day ahead, saying why", () => {
    assert.throws(() => checkReportTime(new Date("2026-11-18T11:59:59Z"), received, 13 * DAY),
      (e: unknown) => e instanceof ReportOutOfWindowError && e.code === "REPORT_OUT_OF_WINDOW" && /older than the raw samples kept \(retention\.raw, 13 days\)/.test(e.message));
    assert.throws(() => checkReportTime(new Date("2026-12-02T12:00:01Z"), received, 13 * DAY), /ahead of the collector's clock .*check the agent's clock/);
  });
});

describe("series partition bounds", () => {
  test("days, weeks from a Monday and months, in UTC", () => {
    const at = Date.parse("2026-12-03T23:30:00Z"); // a Thursday
    assert.equal(new Date(partitionStart(at, "day")).toISOString(), "2026-12-03T00:00:00.000Z");
    assert.equal(new Date(partitionStart(at, "week")).toISOString(), "2026-11-30T00:00:00.000Z");
    assert.equal(new Date(partitionStart(at, "month")).toISOString(), "2026-12-01T00:00:00.000Z");
    assert.equal(new Date(partitionEnd(Date.parse("2026-12-01T00:00:00Z"), "month")).toISOString(), "2027-01-01T00:00:00.000Z");
    assert.equal(new Date(partitionEnd(partitionStart(at, "week"), "week")).toISOString(), "2026-12-07T00:00:00.000Z");
  });
});
