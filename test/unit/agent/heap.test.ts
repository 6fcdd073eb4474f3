import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createIdleCollector } from "../../../agent/src/heap.ts";

describe("agent heap", () => {
  it("createIdleCollector - collects once the heap has grown by the slack, then waits for as much again", () => {
    let collections = 0;
    const kept: unknown[] = [];
    const collect = createIdleCollector(1024 * 1024, () => collections++);
    assert.equal(collect(), false, "nothing allocated yet");
    for (let i = 0; i < 64; i++) kept.push(new Array(4096).fill(i)); // ~2 MiB kept alive
    assert.equal(collect(), true);
    assert.equal(collections, 1);
    assert.equal(collect(), false, "the baseline moved to the heap after the collection");
    assert.ok(kept.length === 64);
  });

  it("createIdleCollector - does nothing where V8 does not expose gc()", () => {
    const collect = createIdleCollector(0, undefined);
    assert.equal(collect(), false);
  });
});
