import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CodecError, decodeReceivedReport, decodeReport, encodeReport, MAX_REPORT_BYTES } from "../../../proto/src/codec.ts";
import { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { agentIdFromReportSubject, agentInboxPrefix, alertSubject, isInboxPrefix, reportMessageId, reportSubject, SubjectError } from "../../../proto/src/subjects.ts";
import { ReportInvalidError } from "../../../proto/src/report-check.ts";
import { NetMapError } from "../../../lib/errors.ts";
import { sampleReport } from "../../helpers/reports.ts";

describe("subjects", () => {
  test("builds a report subject from a valid agent id and parses it back", () => {
    assert.equal(reportSubject("web01-a_b"), "netmap.v1.report.web01-a_b");
    assert.equal(agentIdFromReportSubject("netmap.v1.report.web01-a_b"), "web01-a_b");
  });

  test("refuses agent ids that could break out of their subject token", () => {
    for (const bad of ["", "Web01", "a.b", "a*", "a>", "a b", "x".repeat(65), "é"]) {
      assert.throws(() => reportSubject(bad), SubjectError, bad);
    }
  });

  test("refuses subjects that are not exactly one report token deep", () => {
    for (const bad of ["netmap.v1.report", "netmap.v1.report.a.b", "netmap.v1.alert.firing.critical", "other.a"]) {
      assert.throws(() => agentIdFromReportSubject(bad), SubjectError, bad);
    }
  });

  test("an agent's inbox prefix is one token per agent under a root no other client uses, and inbox prefixes take no wildcard", () => {
    assert.equal(agentInboxPrefix("web01-a_b"), "_INBOX_netmap.agent.web01-a_b");
    assert.throws(() => agentInboxPrefix("a.b"), SubjectError);
    assert.deepEqual(["_INBOX_netmap.collector", "_INBOX", "a.b-c.$d"].map(isInboxPrefix), [true, true, true]);
    assert.deepEqual(["_INBOX.>", "a.*", "a..b", "a b", ".a", ""].map(isInboxPrefix), [false, false, false, false, false, false]);
  });

  test("message ids are agent.boot.seq", () => {
    assert.equal(reportMessageId("a1", "b-2", 42), "a1.b-2.42");
  });
});

describe("codec", () => {
  test("a report survives a round trip", () => {
    const report = sampleReport({ seq: 9 });
    assert.deepEqual(decodeReport(encodeReport(report)), report);
  });

  test("the bytes to store are those received when the check normalised nothing, else the normalised report re-encoded", () => {
    const received = encodeReport(sampleReport({ seq: 9 }));
    const plain = decodeReceivedReport(received);
    assert.equal(plain.bytes, received, "the very bytes received, not a copy");
    assert.deepEqual(plain.report, decodeReport(received));

    const upper = sampleReport({ seq: 10 });
    upper.interfaces[1]!.mac = "52:54:00:AB:CD:EF";
    upper.interfaces[1]!.addresses[1]!.address = "FE80::5054:FF:FE12:3456";
    const normalised = decodeReceivedReport(encodeReport(upper));
    assert.equal(normalised.report.interfaces[1]!.mac, "52:54:00:ab:cd:ef");
    assert.deepEqual(HostReport.decode(normalised.bytes), normalised.report, "the stored bytes decode to the normalised report");
    assert.equal(HostReport.decode(normalised.bytes).interfaces[1]!.addresses[1]!.address, "fe80::5054:ff:fe12:3456");
  });

  test("rejects empty, oversized and identity-less messages with a reason", () => {
    assert.throws(() => decodeReport(new Uint8Array()), /empty message/);
    assert.throws(() => decodeReport(new Uint8Array(MAX_REPORT_BYTES + 1)), /over the 524288-byte limit/);
    assert.throws(() => decodeReport(new Uint8Array([0xff, 0xff, 0xff])), CodecError);
    assert.throws(() => decodeReport(encodeReport(sampleReport({ agentId: "" }))), /no agent_id/);
    assert.throws(() => decodeReport(encodeReport(sampleReport({ bootId: "" }))), /no boot_id/);
    assert.throws(() => decodeReport(encodeReport(sampleReport({ seq: 0 }))), /invalid seq/);
    assert.throws(() => decodeReport(encodeReport(sampleReport({ collectedAt: undefined }))), /no collected_at/);
  });
});

describe("alert subjects", () => {
  test("name the state and severity, and refuse anything else", () => {
    assert.equal(alertSubject("firing", "critical"), "netmap.v1.alert.firing.critical");
    assert.equal(alertSubject("resolved", "warning"), "netmap.v1.alert.resolved.warning");
    assert.throws(() => alertSubject("pending", "warning"), /invalid alert state/);
    assert.throws(() => alertSubject("firing", "page.*"), /invalid alert severity/);
  });
});

describe("errors", () => {
  test("subject, codec and report-check errors are NetMapErrors with stable codes and their own names", () => {
    const thrown = (run: () => unknown): unknown => {
      try {
        run();
      } catch (error) {
        return error;
      }
      assert.fail("expected a throw");
    };
    const cases: Array<[unknown, new (message: string) => NetMapError, string]> = [
      [thrown(() => reportSubject("a.b")), SubjectError, "SUBJECT_INVALID"],
      [thrown(() => decodeReport(new Uint8Array())), CodecError, "REPORT_UNDECODABLE"],
      [thrown(() => decodeReport(encodeReport(sampleReport({ seq: 0 })))), ReportInvalidError, "REPORT_INVALID"],
    ];
    for (const [error, type, code] of cases) {
      assert.ok(error instanceof NetMapError && error instanceof type, `${String(error)} is a NetMapError and a ${type.name}`);
      assert.equal(error.code, code);
      assert.equal(error.name, type.name);
    }
  });
});
