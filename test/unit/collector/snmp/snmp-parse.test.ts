import assert from "node:assert/strict";
import { test } from "node:test";
import { counterRate } from "../../../../collector/src/snmp/counters.ts";
import { counter, deviceText, OID, parseDevice } from "../../../../collector/src/snmp/parse.ts";
import { expandTargets, targetProblem, targetsCover } from "../../../../collector/src/snmp/targets.ts";
import type { RawVarbind } from "../../../../collector/src/snmp/session.ts";

const c32 = (value: number) => counter({ oid: "x", type: 65, value });
const c64 = (value: bigint) => counter({ oid: "x", type: 70, value: Buffer.from(value.toString(16).padStart(16, "0"), "hex") });

test("snmp counters - a Counter32 that wrapped past 2^32 gives the true rate", () => {
  assert.equal(counterRate(c32(2 ** 32 - 1000), c32(500), 10, { rebooted: false }), 150);
});

test("snmp counters - a Counter64 that wrapped past 2^64 gives the true rate", () => {
  assert.equal(counterRate(c64(2n ** 64n - 100n), c64(900n), 10, { rebooted: false }), 100);
});

test("snmp counters - no rate across a reboot, nor when a wrap implies more than the link carries", () => {
  assert.equal(counterRate(c32(5000), c32(100), 10, { rebooted: true }), null);
  assert.equal(counterRate(c32(5000), c32(100), 10, { rebooted: false, ceilingPerSecond: 1000 }), null);
  assert.equal(counterRate(c32(100), c32(5100), 10, { rebooted: false, ceilingPerSecond: 1000 }), 500);
});

test("snmp counters - a Counter64 longer than 9 bytes or a Counter32 out of range is refused", () => {
  assert.equal(counter({ oid: "x", type: 70, value: Buffer.alloc(10, 0xff) }), null);
  assert.equal(counter({ oid: "x", type: 65, value: 2 ** 32 }), null);
  assert.equal(counter({ oid: "x", type: 65, value: "12" }), null);
});

test("snmp targets - a /30 sweeps its two hosts, /32 and /31 all, and a range wider than /16 is refused", () => {
  assert.deepEqual(expandTargets(["10.0.0.5/30"]), ["10.0.0.5", "10.0.0.6"]);
  assert.deepEqual(expandTargets(["10.0.0.9/32", "10.0.0.8/31", "10.0.0.9"]), ["10.0.0.9", "10.0.0.8"]);
  assert.match(targetProblem("10.0.0.0/8") ?? "", /wider than \/16/);
  assert.match(targetProblem("switch1") ?? "", /not an IPv4 or IPv6 address/);
  assert.match(targetProblem("2001:db8::/64") ?? "", /IPv6 ranges are not swept/);
  assert.equal(targetsCover(["10.0.8.0/29"], "10.0.8.6"), true);
  assert.equal(targetsCover(["10.0.8.0/29"], "10.0.8.9"), false);
});

test("snmp parse - text a device sends loses its control characters and is cut at 255", () => {
  assert.equal(deviceText(Buffer.from("core\x1b]0;pwned\x07-sw\r\n")), "core ]0;pwned -sw");
  assert.equal(deviceText("x".repeat(1000))!.length, 255);
});

test("snmp parse - values of the wrong type are ignored, rows keep what is valid", () => {
  const v = (oid: string, type: number, value: unknown): RawVarbind => ({ oid, type, value });
  const snapshot = parseDevice(
    [v(OID.sysName, 4, Buffer.from("sw1")), v(OID.sysUpTime, 4, Buffer.from("oops")), v(OID.sysObjectID, 6, "1.3.6.1.4.1.9.1.1")],
    [
      v(`${OID.ifEntry}.2.7`, 4, Buffer.from("Gi0/7")), v(`${OID.ifEntry}.7.7`, 2, 1), v(`${OID.ifEntry}.8.7`, 2, 2),
      v(`${OID.ifEntry}.5.7`, 66, 1e9), v(`${OID.ifEntry}.10.7`, 65, 123), v(`${OID.ifEntry}.6.7`, 4, Buffer.from([0, 1, 2, 3, 4, 5])),
      v(`${OID.ifEntry}.2.0`, 4, Buffer.from("bad index")), v(`${OID.ifEntry}.8.9`, 4, Buffer.from("up")),
      v(`${OID.ipNetToMediaEntry}.2.7.10.0.0.1`, 4, Buffer.from([0xaa, 0xbb, 0xcc, 0, 0, 1])), v(`${OID.ipNetToMediaEntry}.2.7.10.0.0.2`, 4, Buffer.from([1, 2])),
    ],
  );
  assert.equal(snapshot.system.name, "sw1");
  assert.equal(snapshot.system.uptimeSeconds, null);
  assert.deepEqual(snapshot.interfaces.map((i) => [i.index, i.name, i.adminUp, i.oper, i.speedBps, i.mac, i.inOctets?.bits]), [
    [7, "Gi0/7", true, "down", 1e9, "00:01:02:03:04:05", 32],
    [9, "if9", null, null, null, null, undefined],
  ]);
  assert.deepEqual(snapshot.arp, [{ ifIndex: 7, address: "10.0.0.1", mac: "aa:bb:cc:00:00:01" }]);
});
