import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePubAck, publishFailureHint } from "../../../agent/src/publisher.ts";

describe("agent publisher", () => {
  it("publishFailureHint - points at permissions for a denied subject or inbox and at the stream when nothing answers", () => {
    const denied = new Error('Permissions Violation for Publish to "netmap.v1.report.web01"');
    assert.match(publishFailureHint(denied)!, /permissions \(deploy\/nats\/agent-permissions\.conf\)/);
    const inboxDenied = new Error('Permissions Violation for Subscription to "_INBOX_netmap.agent.web01.k1Y8.*"');
    assert.match(publishFailureHint(inboxDenied)!, /needs subscribe on _INBOX_netmap\.agent\.<agent-id>\.>/);
    const noStream = Object.assign(new Error("no responders: 'netmap.v1.report.web01'"), { name: "NoRespondersError" });
    assert.match(publishFailureHint(noStream)!, /NETMAP_REPORTS stream/);
    assert.equal(publishFailureHint(new Error("TIMEOUT")), undefined, "a timeout says what it is");
  });

  it("parsePubAck - reads JetStream's acknowledgement and refuses its errors and anything else", () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    assert.deepEqual(parsePubAck(bytes('{"stream":"NETMAP_REPORTS","seq":42}')), { stream: "NETMAP_REPORTS", seq: 42, duplicate: false });
    assert.deepEqual(parsePubAck(bytes('{"stream":"NETMAP_REPORTS","seq":42,"duplicate":true}')).duplicate, true);
    assert.throws(() => parsePubAck(bytes('{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}')), {
      name: "PubAckError",
      message: "JetStream refused the report: maximum messages exceeded (code 503, err_code 10077)",
    });
    assert.throws(() => parsePubAck(bytes("pong")), { message: 'not a JetStream acknowledgement: "pong"' });
    assert.throws(() => parsePubAck(bytes('{"seq":1}')), { message: 'not a JetStream acknowledgement: {"seq":1}' });
  });
});
