import assert from "node:assert/strict";
import { test } from "node:test";
import { FailureThrottle } from "../../../collector/src/auth/throttle.ts";

test("throttle - blocks an address at its nth failure within the window, for the window after the last failure", () => {
  const throttle = new FailureThrottle({ maxFailures: 3, windowSeconds: 10 });
  const t0 = 1_000_000;
  assert.deepEqual(throttle.failed("10.0.0.1", t0), { first: true, blocked: false });
  assert.deepEqual(throttle.failed("10.0.0.1", t0 + 1000), { first: false, blocked: false });
  assert.equal(throttle.retryAfterSeconds("10.0.0.1", t0 + 1000), 0);
  assert.deepEqual(throttle.failed("10.0.0.1", t0 + 2000), { first: false, blocked: true });
  assert.equal(throttle.retryAfterSeconds("10.0.0.1", t0 + 2000), 10);
  assert.equal(throttle.retryAfterSeconds("10.0.0.1", t0 + 11_500), 1, "rounded up, never 0 while blocked");
  assert.equal(throttle.retryAfterSeconds("10.0.0.1", t0 + 12_000), 0);
  assert.equal(throttle.retryAfterSeconds("10.0.0.2", t0 + 2000), 0, "another address is not affected");
});

test("throttle - failures older than the window are forgotten, and a success starts the count again", () => {
  const throttle = new FailureThrottle({ maxFailures: 2, windowSeconds: 5 });
  throttle.failed("a", 0);
  assert.deepEqual(throttle.failed("a", 6000), { first: true, blocked: false }, "a new burst");
  throttle.succeeded("a");
  assert.deepEqual(throttle.failed("a", 6500), { first: true, blocked: false });
  assert.deepEqual(throttle.failed("a", 7000), { first: false, blocked: true });
});
