import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";
import { judgeDevice } from "../../../../collector/src/alerts/rules/snmp.ts";
import type { StoredDevice, StoredInterface } from "../../../../collector/src/snmp/store.ts";

const port = (over: Partial<StoredInterface> = {}): StoredInterface => ({
  ifIndex: 3, name: "ge-0/0/3", adminUp: true, oper: "up", speedBps: 1e9, inBps: 1e6, outBps: 2e6, inErrorsPerSecond: 0, outErrorsPerSecond: 0, ...over,
});
const device = (over: Partial<StoredDevice> = {}): StoredDevice => ({
  hostId: 7, host: "sw1", entry: "core", address: "10.0.0.1", client: "acme", site: "dc1", reachable: true, failures: 0, error: null,
  uptimeSeconds: 86_400, previousUptimeSeconds: 86_340, interfaces: [port()], ...over,
});
const rules = rulesConfigSchema.parse({});
const find = (d: StoredDevice, rule: string) => judgeDevice(d, rules).filter((o) => o.observation.rule === rule).map((o) => o.observation);

describe("snmp rules", () => {
  test("InterfaceDown - fires for an interface admin up and oper down or lowerLayerDown, never for one shut on purpose", () => {
    assert.equal(find(device({ interfaces: [port({ oper: "down" })] }), "InterfaceDown")[0]!.active, true);
    assert.equal(find(device({ interfaces: [port({ oper: "lowerLayerDown" })] }), "InterfaceDown")[0]!.active, true);
    const shut = find(device({ interfaces: [port({ adminUp: false, oper: "down" })] }), "InterfaceDown")[0]!;
    assert.equal(shut.active, false);
    assert.equal(shut.cleared, true);
    assert.deepEqual(find(device({ interfaces: [port({ oper: "down" })] }), "InterfaceDown")[0]!.labels, { host: "sw1", snmp: "core", interface: "ge-0/0/3", ifindex: "3" });
    assert.deepEqual(find(device({ interfaces: [port({ adminUp: null })] }), "InterfaceDown"), []);
  });

  test("DeviceUnreachable - fires with the poll's error while the device does not answer, and says nothing of its interfaces then", () => {
    const observations = judgeDevice(device({ reachable: false, failures: 3, error: "snmp core/10.0.0.1: no answer", interfaces: [] }), rules).map((o) => o.observation);
    assert.deepEqual(observations.map((o) => [o.rule, o.active, o.value]), [["DeviceUnreachable", true, 3]]);
    assert.match(observations[0]!.annotations.summary!, /sw1 \(10\.0\.0\.1\) does not answer SNMP: snmp core\/10\.0\.0\.1: no answer/);
    assert.equal(observations[0]!.forSeconds, 120);
  });

  test("DeviceRebooted - fires when sysUpTime went back, holds until 15 minutes of uptime, then clears", () => {
    const fired = find(device({ uptimeSeconds: 30, previousUptimeSeconds: 90_000 }), "DeviceRebooted")[0]!;
    assert.deepEqual([fired.active, fired.cleared], [true, false]);
    const holding = find(device({ uptimeSeconds: 400, previousUptimeSeconds: 340 }), "DeviceRebooted")[0]!;
    assert.deepEqual([holding.active, holding.cleared], [false, false]);
    const clear = find(device({ uptimeSeconds: 901, previousUptimeSeconds: 841 }), "DeviceRebooted")[0]!;
    assert.deepEqual([clear.active, clear.cleared], [false, true]);
  });

  test("InterfaceSaturated - the busier direction against the speed, with hysteresis; no speed, no judgement", () => {
    const busy = find(device({ interfaces: [port({ inBps: 0.95e9, outBps: 1e6 })] }), "InterfaceSaturated")[0]!;
    assert.deepEqual([busy.active, Math.round(busy.value)], [true, 95]);
    const between = find(device({ interfaces: [port({ outBps: 0.85e9 })] }), "InterfaceSaturated")[0]!;
    assert.deepEqual([between.active, between.cleared], [false, false]);
    assert.deepEqual(find(device({ interfaces: [port({ speedBps: 0 })] }), "InterfaceSaturated"), []);
  });

  test("InterfaceErrors - errors per second in and out together past 1/s", () => {
    const errors = find(device({ interfaces: [port({ inErrorsPerSecond: 0.7, outErrorsPerSecond: 0.6 })] }), "InterfaceErrors")[0]!;
    assert.equal(errors.active, true);
    assert.ok(Math.abs(errors.value - 1.3) < 1e-9, String(errors.value));
    assert.equal(find(device({ interfaces: [port({ inErrorsPerSecond: null, outErrorsPerSecond: null })] }), "InterfaceErrors").length, 0);
  });
});
