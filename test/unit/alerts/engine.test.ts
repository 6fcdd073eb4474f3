import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fingerprint, step, thresholdObservation, type Alert, type Observation } from "../../../collector/src/alerts/engine.ts";

const t0 = new Date("2026-11-23T10:00:00Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function fsUsage(value: number, forSeconds = 60): Observation {
  return thresholdObservation(
    { rule: "FilesystemAlmostFull", severity: "warning", labels: { host: "web01", mountpoint: "/" }, annotations: { summary: `/ is ${value}% full` }, value, forSeconds },
    { direction: "above", fire: 85, clear: 80 },
  );
}

/** Feeds a series of (seconds, value) and returns the transitions, as "t:to". */
function run(series: Array<[number, number]>, forSeconds = 60): string[] {
  let alert: Alert | undefined;
  const out: string[] = [];
  for (const [seconds, value] of series) {
    const result = step(alert, fsUsage(value, forSeconds), at(seconds));
    alert = result.alert;
    if (result.transition) out.push(`${seconds}:${result.transition.to}`);
  }
  return out;
}

describe("alert engine", () => {
  test("fires only after the condition has held for the `for` duration, then resolves once", () => {
    assert.deepEqual(run([[0, 90], [30, 91], [60, 92], [90, 93], [120, 70], [150, 70]]), ["60:firing", "120:resolved"]);
  });

  test("a pending alert whose condition goes away is dropped without a notification", () => {
    assert.deepEqual(run([[0, 90], [30, 70], [60, 90], [90, 90]]), []);
    assert.deepEqual(run([[0, 90], [30, 70], [60, 90], [120, 90]]), ["120:firing"]);
  });

  test("hysteresis: a value hovering between the clear and fire thresholds does not flap", () => {
    const flapping: Array<[number, number]> = [[0, 86], [60, 86], [70, 84], [80, 86], [90, 82], [100, 85.5], [110, 81]];
    assert.deepEqual(run(flapping), ["60:firing"]);
    assert.deepEqual(run([...flapping, [120, 79.9]]), ["60:firing", "120:resolved"]);
  });

  test("with for 0 an alert fires at once; after resolving it can fire again as a new episode", () => {
    assert.deepEqual(run([[0, 90], [10, 70], [20, 95]], 0), ["0:firing", "10:resolved", "20:firing"]);
  });

  test("startsAt is when it fired and endsAt when it resolved", () => {
    let alert: Alert | undefined;
    for (const [s, v] of [[0, 90], [60, 90], [100, 10]] as const) alert = step(alert, fsUsage(v), at(s)).alert;
    assert.equal(alert?.state, "resolved");
    assert.deepEqual([alert?.activeSince, alert?.startsAt, alert?.endsAt], [at(0), at(60), at(100)]);
  });

  test("a fingerprint never changes across versions: stored alerts keep theirs", () => {
    assert.equal(fingerprint("DiskFull", { host: "web01", mountpoint: "/é" }, "warning"), "e3d7dbfe80d58d10");
  });

  test("fingerprints depend on rule and labels, not on label order", () => {
    assert.equal(fingerprint("R", { a: "1", b: "2" }), fingerprint("R", { b: "2", a: "1" }));
    assert.notEqual(fingerprint("R", { a: "1" }), fingerprint("R", { a: "2" }));
    assert.notEqual(fingerprint("R", { a: "1" }), fingerprint("S", { a: "1" }));
    assert.notEqual(fingerprint("R", { ab: "c" }), fingerprint("R", { a: "bc" }));
    assert.match(fingerprint("R", {}), /^[0-9a-f]{16}$/);
  });

  test("a 'below' threshold fires on low values (memory available)", () => {
    const obs = (value: number) =>
      thresholdObservation({ rule: "MemoryLow", severity: "warning", labels: { host: "h" }, annotations: {}, value, forSeconds: 0 }, { direction: "below", fire: 10, clear: 15 });
    assert.equal(obs(9).active, true);
    assert.equal(obs(12).active || obs(12).cleared, false);
    assert.equal(obs(16).cleared, true);
  });
});
