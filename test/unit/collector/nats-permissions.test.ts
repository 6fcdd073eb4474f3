// The permission blocks the collector writes (nats.agent_authorization) are the ones
// deploy/nats/agent-permissions.conf ships for people who write them by hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import { agentPermissions, collectorPermissions, permissionsBlock } from "../../../collector/src/nats/permissions.ts";
import { COLLECTOR_INBOX_PREFIX } from "../../../proto/src/subjects.ts";
import { agentPermissions as shippedAgent, collectorPermissions as shippedCollector } from "../../helpers/nats-permissions.ts";

/** Every subject of a block's publish and subscribe lists, whatever its layout. */
const subjects = (block: string, list: "publish" | "subscribe") =>
  [...new RegExp(`${list}\\s*=\\s*\\{\\s*allow\\s*=\\s*\\[([^\\]]*)\\]`).exec(block)![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();

test("nats permissions - the collector's and an agent's blocks are the shipped example's", () => {
  for (const [written, shipped] of [
    [permissionsBlock(collectorPermissions(COLLECTOR_INBOX_PREFIX)), shippedCollector()],
    [permissionsBlock(agentPermissions("0123456789abcdef")), shippedAgent("0123456789abcdef")],
  ] as const) {
    assert.deepEqual(subjects(written, "publish"), subjects(shipped, "publish"));
    assert.deepEqual(subjects(written, "subscribe"), subjects(shipped, "subscribe"));
    assert.equal(/allow_responses\s*=\s*true/.test(written), /allow_responses\s*=\s*true/.test(shipped), "allow_responses alike");
  }
  assert.match(permissionsBlock(collectorPermissions(COLLECTOR_INBOX_PREFIX)), /allow_responses = true/);
  assert.doesNotMatch(permissionsBlock(agentPermissions("0123456789abcdef")), /allow_responses/, "no one sends an agent requests");
});
