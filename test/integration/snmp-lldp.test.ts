// Three devices in network namespaces joined in a line (dev1 ⇄ dev2 ⇄ dev3), each running snmpd
// with `master agentx` and lldpd -x as its AgentX sub-agent: the poller reads each one's LLDP
// neighbours from LLDP-MIB over SNMP, and `netmap snmp walk` prints them; a cable cut is seen
// as oper down at both ends.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { snmpTargetSchema, snmpTargets, type SnmpTargetConfig } from "../../collector/src/snmp/config.ts";
import { pollDevice, sweep, type DevicePoll } from "../../collector/src/snmp/poll.ts";
import { NETMAP_MAIN } from "../helpers/cli.ts";
import { runProgram } from "../helpers/run.ts";
import { createSnmpLab, SNMP_COMMUNITY, type SnmpLab } from "../helpers/snmp-lab.ts";
import { eventually } from "../helpers/wait.ts";

describe("snmp LLDP neighbours from lldpd through snmpd's AgentX", () => {
  let lab: SnmpLab;
  let entry: SnmpTargetConfig;
  let configFile: string;
  before(async () => {
    lab = await createSnmpLab({ devices: 3, links: [[1, 2], [2, 3]], lldp: true });
    const dir = mkdtempSync(join(tmpdir(), "netmap-lldp-"));
    writeFileSync(join(dir, "community"), SNMP_COMMUNITY, { mode: 0o600 });
    const fields = { name: "lab", targets: lab.devices.map((d) => d.address), version: "2c", community_file: join(dir, "community"), timeout: "1s", client: "acme", site: "ns" };
    entry = snmpTargets([snmpTargetSchema.parse(fields)])[0]!;
    configFile = join(dir, "netmap.yaml");
    writeFileSync(configFile, `snmp:\n  - ${JSON.stringify(fields)}\n`);
  });
  after(async () => {
    await lab?.close();
  });

  const neighboursOf = (polls: DevicePoll[], name: string) => {
    const poll = polls.find((p) => p.ok && p.snapshot.system.name === name);
    assert.ok(poll?.ok, `no poll of ${name}`);
    return poll.snapshot.neighbours.map((n) => `${n.localPort}>${n.sysName}`).sort();
  };

  test("snmp - each device lists the devices it is cabled to as LLDP neighbours, on the right local port", async () => {
    const [l1, l2] = lab.links;
    let polls: DevicePoll[] = [];
    await eventually(async () => {
      polls = await sweep(entry);
      return polls.every((p) => p.ok) && polls.reduce((n, p) => n + (p.ok ? p.snapshot.neighbours.length : 0), 0) === 4;
    }, () => `four LLDP neighbour rows; seen ${JSON.stringify(polls.map((p) => (p.ok ? p.snapshot.neighbours : p.error.message)))}`, 20_000);
    assert.deepEqual(neighboursOf(polls, "dev1"), [`${l1!.a.ifname}>dev2`]);
    assert.deepEqual(neighboursOf(polls, "dev2"), [`${l1!.b.ifname}>dev1`, `${l2!.a.ifname}>dev3`].sort());
    assert.deepEqual(neighboursOf(polls, "dev3"), [`${l2!.b.ifname}>dev2`]);
    // The neighbour's chassis id is a MAC of that device, as its own interfaces show it.
    const dev2 = polls.find((p) => p.ok && p.snapshot.system.name === "dev2")!;
    const dev1 = polls.find((p) => p.ok && p.snapshot.system.name === "dev1")!;
    assert.ok(dev1.ok && dev2.ok);
    const chassis = dev1.snapshot.neighbours[0]!.chassisId;
    assert.ok(dev2.snapshot.interfaces.some((i) => i.mac === chassis), `${chassis} is not a MAC of dev2`);
    assert.ok(dev1.snapshot.neighbours[0]!.localIfIndex !== null, "the local port maps to an ifIndex");
  });

  test("snmp - a cable cut in the wire shows both ends oper down and admin up, and both up again when mended", async () => {
    const link = lab.links[0]!;
    const ends = async () => {
      const [dev1, dev2] = await Promise.all([pollDevice(entry, lab.devices[0]!.address), pollDevice(entry, lab.devices[1]!.address)]);
      assert.ok(dev1.ok && dev2.ok);
      return [dev1.snapshot.interfaces.find((i) => i.name === link.a.ifname)!, dev2.snapshot.interfaces.find((i) => i.name === link.b.ifname)!];
    };
    lab.cutLink(0, true);
    try {
      await eventually(async () => (await ends()).every((i) => i.oper !== "up"), "both ends oper down", 10_000);
      for (const end of await ends()) {
        assert.equal(end.adminUp, true);
        assert.match(end.oper ?? "", /^(down|lowerLayerDown)$/);
      }
    } finally {
      lab.cutLink(0, false);
    }
    await eventually(async () => (await ends()).every((i) => i.oper === "up"), "both ends oper up", 10_000);
  });

  test("snmp - netmap snmp walk prints the device, its interfaces and its LLDP neighbours, and never the community", async () => {
    const dev2 = lab.devices[1]!;
    const run = await runProgram(process.execPath, [NETMAP_MAIN, "snmp", "walk", dev2.address, "--config", configFile], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir() } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^DEVICE +NAME/m);
    assert.match(run.stdout, new RegExp(`${dev2.address.replaceAll(".", "\\.")} +dev2`));
    assert.match(run.stdout, new RegExp(`${lab.links[0]!.b.ifname} +dev1`));
    assert.match(run.stdout, new RegExp(`${lab.links[1]!.a.ifname} +dev3`));
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(SNMP_COMMUNITY));

    const json = await runProgram(process.execPath, [NETMAP_MAIN, "snmp", "walk", dev2.address, "--config", configFile, "--json"], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir() } });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).system.name, "dev2");

    const uncovered = await runProgram(process.execPath, [NETMAP_MAIN, "snmp", "walk", "192.0.2.7", "--config", configFile], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir() } });
    assert.equal(uncovered.code, 2);
    assert.match(uncovered.stderr, /no snmp: entry's targets cover "192\.0\.2\.7" \(configured: lab\); give --entry NAME/);
  });
});
