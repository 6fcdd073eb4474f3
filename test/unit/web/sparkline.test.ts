import assert from "node:assert/strict";
import { test } from "node:test";
import { sparklineRuns } from "../../../web/src/format.ts";

test("sparklineRuns - one line per run of known values, y as 100 − %, clamped, a lone point still drawn", () => {
  assert.deepEqual(sparklineRuns([10, 20, null, null, 50, null, 150, -5]), ["0,90.0 1,80.0", "4,50.0 4,50.0", "6,0.0 7,100.0"]);
  assert.deepEqual(sparklineRuns([null, null]), []);
  assert.deepEqual(sparklineRuns([]), []);
});
