// The protobuf decoder and the report check (proto/src/codec.ts, report-check.ts) against
// arbitrary bytes, real reports mutated byte by byte, and well-formed reports with hostile
// field values: every input is a report or a REPORT_UNDECODABLE / REPORT_INVALID error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { HostReport, type Protocol } from "../../proto/gen/netmap/v1/report.ts";
import { decodeReport, encodeReport, MAX_REPORT_BYTES } from "../../proto/src/codec.ts";
import { fuzzParameters, mutatedBytes, parsedOrRejected } from "../helpers/fuzz.ts";
import { sampleReport } from "../helpers/reports.ts";

const CODES = ["REPORT_UNDECODABLE", "REPORT_INVALID"];

/** A decoded report is one the collector can store: it encodes again and decodes to itself. */
function assertStorable(report: HostReport): void {
  const again = decodeReport(encodeReport(report));
  assert.deepEqual(HostReport.toJSON(again), HostReport.toJSON(report));
}

describe("fuzz: report decoder", () => {
  test("arbitrary bytes decode to a storable report or a coded refusal", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const report = parsedOrRejected(() => decodeReport(bytes), CODES);
        if (report) assertStorable(report);
      }),
      fuzzParameters(),
    );
  });

  test("a real report mutated byte by byte decodes to a storable report or a coded refusal", () => {
    const seed = encodeReport(sampleReport());
    fc.assert(
      fc.property(mutatedBytes(seed), (bytes) => {
        const report = parsedOrRejected(() => decodeReport(bytes), CODES);
        if (report) assertStorable(report);
      }),
      fuzzParameters(),
    );
  });

  test("well-formed reports with hostile names, numbers and dates are stored or refused with a coded error", () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom("\u0000", "\u001b", "\u009b", "\ud800", "\udc00", "é", "😀", "\n", "'", '"'), fc.string({ minLength: 1, maxLength: 1, unit: "binary" })), maxLength: 80 });
    const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(2 ** 31, -1, Number.MAX_SAFE_INTEGER, 0));
    const date = fc.oneof(fc.date({ noInvalidDate: true }), fc.constant(undefined));
    const report = fc.record({
      agentId: fc.oneof(fc.constantFrom("test-agent", "a"), text),
      hostname: text,
      bootId: fc.oneof(fc.constant("0f1e2d3c-4b5a"), text),
      seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
      collectedAt: date,
      agentVersion: text,
      os: fc.record({ distribution: text, kernel: text, uptimeSeconds: number, bootTime: date }),
      cpu: fc.record({ logicalCores: number, model: text, usagePercent: number, load1: number }),
      mounts: fc.array(fc.record({ mountpoint: text, device: text, fsType: text, sizeBytes: number, usedBytes: number }), { maxLength: 3 }),
      listeners: fc.array(fc.record({ protocol: fc.integer({ min: -1, max: 5 }).map((n) => n as Protocol), address: text, port: number, pid: number, process: text }), { maxLength: 3 }),
      interfaces: fc.array(fc.record({ name: text, mac: text, addresses: fc.array(fc.record({ address: text, prefixLength: number }), { maxLength: 2 }) }), { maxLength: 3 }),
      collectors: fc.array(fc.record({ name: text, success: fc.boolean(), durationSeconds: number, error: text }), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(report, (fields) => {
        let bytes: Uint8Array;
        try {
          bytes = HostReport.encode(HostReport.fromPartial(fields)).finish();
        } catch {
          return; // ts-proto refuses to encode it (an int64 out of range): no agent can send it either
        }
        if (bytes.length === 0 || bytes.length > MAX_REPORT_BYTES) return;
        const decoded = parsedOrRejected(() => decodeReport(bytes), CODES);
        if (decoded) assertStorable(decoded);
      }),
      fuzzParameters(),
    );
  });
});
