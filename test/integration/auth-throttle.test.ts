// Guessing tokens: after auth.max_failures wrong tokens from one address within
// auth.failure_window, that address is refused unread (HTTP 429 with Retry-After, gRPC
// RESOURCE_EXHAUSTED) even with the right token, logged once per burst and counted in
// /metrics; once the wait is over the right token passes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { connectAdmin } from "../../collector/src/cli/admin-client.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import type { TestCollector } from "../helpers/collector.ts";

describe("failed authentications are rate-limited per address", () => {
  let testbed: CliTestbed;
  let collector: TestCollector;
  let dir: string;
  const hosts = (token: string) => fetch(new URL("/api/v1/hosts", collector.httpUrl), { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    testbed = await startCliTestbed({ config: () => "auth:\n  max_failures: 3\n  failure_window: 2s\n" });
    ({ collector, dir } = testbed);
  });

  after(() => testbed?.close());

  test("the fourth try after three wrong tokens gets 429 and Retry-After even with the right token, over HTTP and gRPC; after the wait the right token passes", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await hosts(`wrong-${i}`)).status, 401);
    const throttled = await hosts(collector.token);
    assert.equal(throttled.status, 429);
    const wait = Number(throttled.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 2, `Retry-After: ${wait}`);
    assert.equal(((await throttled.json()) as { error: { code: string } }).error.code, "TOO_MANY_FAILURES");

    const admin = connectAdmin({ NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token, HOME: dir });
    try {
      await assert.rejects(admin.listHosts({}), (error: Error & { code: string }) => error.code === "TOO_MANY_FAILURES" && /retry in \d s/.test(error.message));
      await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100));
      assert.equal((await hosts(collector.token)).status, 200, "the right token passes once the wait is over");
      assert.ok((await admin.listHosts({})).hosts, "so does a gRPC call");
    } finally {
      admin.close();
    }

    const refusals = collector.logs.filter((l) => l.msg === "refused a call without a valid token");
    assert.deepEqual(refusals.map((l) => l.level), [40, 20], "the first of a burst is a warning, the next debug; the third is the block");
    const blocks = collector.logs.filter((l) => l.msg === "blocked an address after repeated failed authentications");
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.source, "127.0.0.1");
    assert.equal(blocks[0]!.level, 40);

    const metrics = await (await collector.fetch("/metrics")).text();
    assert.match(metrics, /^netmap_auth_failures_total\{transport="http"\} 3$/m);
    assert.match(metrics, /^netmap_auth_throttled_total\{transport="http"\} 1$/m);
    assert.match(metrics, /^netmap_auth_throttled_total\{transport="grpc"\} 1$/m);
    assert.match(metrics, /^netmap_auth_blocks_total 1$/m);
  });
});
