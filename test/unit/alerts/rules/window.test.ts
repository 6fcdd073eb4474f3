import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { linearFit, secondsUntil, Series } from "../../../../collector/src/alerts/rules/window.ts";

describe("series and trends", () => {
  test("keeps only the window, thins to the spacing, ignores late points", () => {
    const s = new Series(60, 10);
    for (let t = 1000; t <= 1100; t += 5) s.add(t, t);
    s.add(1050, 0);
    assert.ok(s.points.every((p) => p.t >= 1040), "older than 60 s is gone");
    assert.ok(s.points.length <= 7);
    assert.equal(s.points.at(-1)!.v, 1100);
    assert.equal(s.spanSeconds(), s.points.at(-1)!.t - s.points[0]!.t);
  });

  test("the fit of an exact line is that line, at epoch-sized times", () => {
    const t0 = 1_795_430_000;
    const points = Array.from({ length: 10 }, (_, i) => ({ t: t0 + i * 60, v: 1000 + 2 * i * 60 }));
    const fit = linearFit(points)!;
    assert.ok(Math.abs(fit.slope - 2) < 1e-9);
    assert.ok(Math.abs(fit.intercept + 2 * t0 - 1000) < 1e-3);
  });

  test("time until full, as predict_linear would see it", () => {
    const now = 1_795_430_000;
    // 1 GB/hour growth, 10 GB left: full in 10 hours.
    const points = Array.from({ length: 13 }, (_, i) => ({ t: now - 3600 + i * 300, v: 90e9 + (i * 300 * 1e9) / 3600 }));
    const hours = secondsUntil(points, 101e9, now)! / 3600;
    assert.ok(Math.abs(hours - 10) < 0.01, `${hours} h`);
    assert.equal(secondsUntil([{ t: now - 60, v: 5 }, { t: now, v: 4 }], 10, now), Infinity, "a shrinking filesystem never fills");
    assert.equal(secondsUntil([{ t: now, v: 5 }], 10, now), undefined);
  });
});
