// The SNMP poller against real snmpd in network namespaces: v2c and v3 authPriv, a wrong v3
// password, a device answering garbage, a table that never ends, a range swept with bounded
// concurrency — each a clear error naming the device, in bounded time.
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { snmpTargetSchema, snmpTargets, type SnmpTargetConfig } from "../../collector/src/snmp/config.ts";
import { pollDevice, sweep } from "../../collector/src/snmp/poll.ts";
import { createSnmpLab, SNMP_COMMUNITY, SNMP_V3, type SnmpLab } from "../helpers/snmp-lab.ts";

const secrets = mkdtempSync(join(tmpdir(), "netmap-snmp-secrets-"));
const secretFile = (name: string, text: string) => {
  const file = join(secrets, name);
  writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return file;
};

function entry(fields: Record<string, unknown>): SnmpTargetConfig {
  return snmpTargets([snmpTargetSchema.parse({ name: "lab", client: "acme", site: "ns", timeout: "300ms", retries: 0, ...fields })])[0]!;
}
const v2c = (targets: string[], more: Record<string, unknown> = {}) => entry({ targets, version: "2c", community_file: secretFile("community", SNMP_COMMUNITY), ...more });
const v3 = (targets: string[], authPassword: string = SNMP_V3.authPassword) =>
  entry({
    targets, version: "3", user: SNMP_V3.user, auth_protocol: "sha256", auth_password_file: secretFile(`auth-${authPassword}`, authPassword),
    priv_protocol: "aes", priv_password_file: secretFile("priv", SNMP_V3.privPassword),
  });

describe("snmp poller against real snmpd", () => {
  let lab: SnmpLab;
  before(async () => {
    lab = await createSnmpLab({ devices: 2 });
  });
  after(async () => {
    await lab?.close();
  });

  test("snmp - a v2c poll reads the system group and the interfaces of IF-MIB", async () => {
    const poll = await pollDevice(v2c([lab.devices[0]!.address]), lab.devices[0]!.address);
    assert.ok(poll.ok, poll.ok ? "" : poll.error.message);
    const { system, interfaces } = poll.snapshot;
    assert.equal(system.name, "dev1");
    assert.match(system.descr, /Linux/);
    assert.match(system.objectId ?? "", /^1\.3\.6\.1\.4\.1\.8072\./);
    assert.ok(system.uptimeSeconds !== null && system.uptimeSeconds >= 0 && system.uptimeSeconds < 600);
    const mgmt = interfaces.find((i) => i.name.endsWith("-n1"));
    assert.ok(mgmt, `interfaces seen: ${interfaces.map((i) => i.name).join(", ")}`);
    assert.equal(mgmt.adminUp, true);
    assert.equal(mgmt.oper, "up");
    assert.match(mgmt.mac ?? "", /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.equal(mgmt.inOctets?.bits, 64, "the 64-bit ifHCInOctets of ifXTable is preferred");
    assert.ok(mgmt.inOctets!.value > 0n);
    // The poller's own requests are the ARP traffic: the device knows the root side's address.
    assert.ok(poll.snapshot.arp.some((a) => a.address === lab.devices[0]!.address.replace(/\.2$/, ".1")), JSON.stringify(poll.snapshot.arp));
  });

  test("snmp - a v3 authPriv poll (SHA-256, AES) reads the same device", async () => {
    const poll = await pollDevice(v3([lab.devices[1]!.address]), lab.devices[1]!.address);
    assert.ok(poll.ok, poll.ok ? "" : poll.error.message);
    assert.equal(poll.snapshot.system.name, "dev2");
    assert.ok(poll.snapshot.interfaces.length >= 2);
  });

  test("snmp - a wrong v3 password is an authentication error naming the device and the user", async () => {
    const address = lab.devices[1]!.address;
    const poll = await pollDevice(v3([address], "not-the-password"), address);
    assert.equal(poll.ok, false);
    assert.ok(!poll.ok);
    assert.equal(poll.error.code, "SNMP_AUTH");
    assert.match(poll.error.message, new RegExp(`lab/${address.replaceAll(".", "\\.")}`));
    assert.match(poll.error.message, /netmapv3/);
    assert.match(poll.error.message, /Wrong Digest/i);
    assert.doesNotMatch(poll.error.message, /not-the-password/);
  });

  test("snmp - a wrong community is a timeout that names the device, as v2c agents stay silent", async () => {
    const address = lab.devices[0]!.address;
    const poll = await pollDevice(entry({ targets: [address], version: "2c", community_file: secretFile("wrong", "wrong-community") }), address);
    assert.ok(!poll.ok);
    assert.equal(poll.error.code, "SNMP_TIMEOUT");
    assert.match(poll.error.message, /lab\/10\./);
    assert.doesNotMatch(poll.error.message, /wrong-community/);
  });

  test("snmp - a CIDR range is swept address by address: the devices answer, the other addresses time out", async () => {
    const base = lab.devices[0]!.address.replace(/\.\d+\.2$/, "");
    // /30 around each device: .1 (the root side, no snmpd) and .2 (the device).
    const config = v2c([`${base}.1.0/30`, `${base}.2.0/30`], { concurrency: 2 });
    const polls = await sweep(config);
    assert.deepEqual(polls.map((p) => p.address).sort(), [`${base}.1.1`, `${base}.1.2`, `${base}.2.1`, `${base}.2.2`]);
    assert.deepEqual(polls.filter((p) => p.ok).map((p) => p.address).sort(), [`${base}.1.2`, `${base}.2.2`]);
    for (const p of polls.filter((p) => !p.ok)) assert.ok(!p.ok && p.error.code === "SNMP_TIMEOUT");
  });
});

describe("snmp poller against a device that misbehaves", () => {
  let lab: SnmpLab;
  let garbage: Socket;
  before(async () => {
    // snmpd without its interfaces module, ifEntry served by a script whose table never ends.
    lab = await createSnmpLab({ devices: 1, snmpdArgs: ["-I", "-interfaces,ifTable"], snmpdExtra: [`pass .1.3.6.1.2.1.2.2.1 /bin/sh ${resolve("test/fixtures/snmp/endless-pass.sh")}`] });
    garbage = createSocket("udp4");
    garbage.on("message", (_msg, peer) => garbage.send(randomBytes(64), peer.port, peer.address));
    await new Promise<void>((r) => garbage.bind(0, "127.0.0.1", r));
  });
  after(async () => {
    garbage?.close();
    await lab?.close();
  });

  test("snmp - a table that never ends is cut at max_varbinds with an error naming the device and the table", async () => {
    const address = lab.devices[0]!.address;
    const started = Date.now();
    const poll = await pollDevice(v2c([address], { max_varbinds: 150, timeout: "2s" }), address);
    assert.ok(!poll.ok);
    assert.equal(poll.error.code, "SNMP_WALK_BOUND", poll.error.message);
    assert.match(poll.error.message, /lab\/10\.\d+\.1\.2: the walk of 1\.3\.6\.1\.2\.1\.2\.2\.1 went past 150 values/);
    assert.ok(Date.now() - started < 20_000);
  });

  test("snmp - the device deadline stops a poll that would go on, whatever each walk's bound", async () => {
    const address = lab.devices[0]!.address;
    const poll = await pollDevice(v2c([address], { max_varbinds: 1_000_000, device_deadline: "1s", timeout: "2s" }), address);
    assert.ok(!poll.ok);
    assert.equal(poll.error.code, "SNMP_DEADLINE");
    assert.ok(poll.durationMs < 3000, `${poll.durationMs} ms`);
  });

  test("snmp - a device answering garbage times out and says it answered datagrams that are not SNMP", async () => {
    const { port } = garbage.address();
    const poll = await pollDevice(v2c(["127.0.0.1"], { port }), "127.0.0.1");
    assert.ok(!poll.ok);
    assert.equal(poll.error.code, "SNMP_TIMEOUT");
    assert.match(poll.error.message, /lab\/127\.0\.0\.1: .*datagram\(s\) that are not SNMP/);
  });
});
