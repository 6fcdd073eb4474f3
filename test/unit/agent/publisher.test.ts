import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { publishFailureHint } from "../../../agent/src/publisher.ts";

describe("agent publisher", () => {
  it("publishFailureHint - points at permissions for a denied subject and at the stream when nothing answers", () => {
    const denied = new Error('Permissions Violation for Publish to "netmap.v1.report.web01"');
    assert.match(publishFailureHint(denied)!, /permissions \(deploy\/nats\/agent-permissions\.conf\)/);
    const noStream = Object.assign(new Error("jetstream is not enabled"), { name: "JetStreamNotEnabled" });
    assert.match(publishFailureHint(noStream)!, /NETMAP_REPORTS stream/);
    assert.equal(publishFailureHint(new Error("TIMEOUT")), undefined, "a timeout says what it is");
  });
});
