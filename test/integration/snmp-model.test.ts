// Network devices into the model, against three real snmpd + lldpd devices in network
// namespaces and a fresh PostgreSQL: each device a host of kind network in its entry's site,
// merged with the host a person declared under its name (whose kind stays the person's), the
// LLDP links on the map, and InterfaceDown / DeviceUnreachable raised and cleared.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import pino from "pino";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { getHost } from "../../collector/src/hosts/repository.ts";
import { parseSeriesQuery, querySeries } from "../../collector/src/hosts/series.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { snmpTargetSchema, snmpTargets } from "../../collector/src/snmp/config.ts";
import { startSnmpPoller, type SnmpPoller } from "../../collector/src/snmp/poller.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { topologyToDot } from "../../collector/src/topology/graph.ts";
import { importTopology, loadTopology } from "../../collector/src/topology/repository.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { createSnmpLab, SNMP_COMMUNITY, type SnmpLab } from "../helpers/snmp-lab.ts";
import { eventually } from "../helpers/wait.ts";

const rules = rulesConfigSchema.parse({ InterfaceDown: { for: "0s" }, DeviceUnreachable: { for: "0s" } });

describe("snmp devices in the model, on the map, and watched", () => {
  let lab: SnmpLab;
  let database: TestDatabase;
  let db: Db;
  let poller: SnmpPoller;
  let judged: Promise<unknown>[] = [];
  let personHostId: number;

  before(async () => {
    lab = await createSnmpLab({ devices: 3, links: [[1, 2], [2, 3]], lldp: true });
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    await importTopology(db, parseTopologyFile("clients:\n  - name: acme\n    sites:\n      - name: ns\n        hosts:\n          - name: dev3\n            kind: server\n", "test"));
    personHostId = Number((await sql<{ id: number }>`SELECT id FROM hosts WHERE name = 'dev3'`.execute(db)).rows[0]!.id);
    const dir = mkdtempSync(join(tmpdir(), "netmap-snmp-model-"));
    writeFileSync(join(dir, "community"), SNMP_COMMUNITY, { mode: 0o600 });
    const [entry] = snmpTargets([snmpTargetSchema.parse({
      name: "lab", targets: lab.devices.map((d) => d.address), version: "2c", community_file: join(dir, "community"), timeout: "500ms", retries: 0, client: "acme", site: "ns",
    })]);
    const evaluator = new AlertEvaluator({ db, rules, log: pino({ level: "silent" }), notify: () => {} });
    poller = startSnmpPoller({ entries: [entry!], db, log: pino({ level: "silent" }), schedule: false, onStored: (device) => judged.push(evaluator.judgeSnmpDevice(device)) });
  });
  after(async () => {
    await poller?.stop();
    await db?.destroy();
    await database?.drop();
    await lab?.close();
  });

  const poll = async () => {
    await poller.runOnce();
    await Promise.all(judged);
    judged = [];
  };
  const hostIdOf = async (name: string) => Number((await sql<{ id: number }>`SELECT id FROM hosts WHERE name = ${name}`.execute(db)).rows[0]!.id);
  const open = async (rule: string) => (await openAlerts(db)).filter((a) => a.rule === rule && a.state === "firing");

  test("snmp model - devices become network hosts of their site; the one a person declared keeps its id and its kind", async () => {
    await poll();
    const { rows } = await sql<{ id: number; name: string; kind: string; source: string; site: string; fact_sources: Record<string, string> }>`
      SELECT h.id, h.name, h.kind, h.source, s.name AS site, h.fact_sources FROM hosts h JOIN sites s ON s.id = h.site_id ORDER BY h.name`.execute(db);
    assert.deepEqual(rows.map((r) => [r.name, r.kind, r.source, r.site]), [
      ["dev1", "network", "snmp", "ns"],
      ["dev2", "network", "snmp", "ns"],
      ["dev3", "server", "person", "ns"],
    ]);
    assert.equal(Number(rows[2]!.id), personHostId);
    assert.equal(rows[2]!.fact_sources.kind, "person");
    const { rows: interfaces } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM snmp_interfaces WHERE host_id = ${personHostId}`.execute(db);
    assert.ok(interfaces[0]!.n >= 3, "dev3's interfaces are stored on the person's host");
    // One sample per interface and poll, in the partitioned series that housekeeping rolls up and retention drops.
    const { rows: samples } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM snmp_interface_samples WHERE host_id = ${personHostId}`.execute(db);
    assert.equal(samples[0]!.n, interfaces[0]!.n);
  });

  test("snmp model - the LLDP links are on the map between the right ports, up, with their speed", async () => {
    const [l1, l2] = lab.links;
    let links: NonNullable<Awaited<ReturnType<typeof loadTopology>>["links"]> = [];
    await eventually(async () => {
      await poll();
      links = (await loadTopology(db, { includeUnassigned: true, networkLinks: true })).links ?? [];
      return links.filter((l) => l.kind === "lldp").length === 2;
    }, () => `two LLDP links, got ${JSON.stringify(links)}`, 20_000);
    const [dev1, dev2, dev3] = [await hostIdOf("dev1"), await hostIdOf("dev2"), personHostId];
    const described = links.map((l) => [l.kind, l.from.hostId, l.from.port, l.to.hostId, l.to.port, l.up, l.speedBps]).sort();
    assert.deepEqual(described, [
      ["lldp", Math.min(dev1, dev2), dev1 < dev2 ? l1!.a.ifname : l1!.b.ifname, Math.max(dev1, dev2), dev1 < dev2 ? l1!.b.ifname : l1!.a.ifname, true, 10e9],
      ["lldp", Math.min(dev2, dev3), dev2 < dev3 ? l2!.a.ifname : l2!.b.ifname, Math.max(dev2, dev3), dev2 < dev3 ? l2!.b.ifname : l2!.a.ifname, true, 10e9],
    ].sort());
    const dot = topologyToDot(await loadTopology(db, { includeUnassigned: true, networkLinks: true }));
    assert.equal((dot.match(/dir=none/g) ?? []).length, 2, dot);
    assert.match(dot, new RegExp(`label="(${l1!.a.ifname} — ${l1!.b.ifname}|${l1!.b.ifname} — ${l1!.a.ifname}) · 10G"`));
  });

  test("snmp model - a device's host page has its interfaces, neighbours and per-interface series", async () => {
    const dev2 = await hostIdOf("dev2");
    const [l1, l2] = lab.links;
    // Each lldpd learns its neighbours from their own adverts: the map's two links can come
    // from dev1's and dev3's tables before dev2's own has both.
    let detail = await getHost(db, dev2, { staleAfterSeconds: 30, downAfterSeconds: 120 });
    await eventually(async () => {
      await poll();
      detail = await getHost(db, dev2, { staleAfterSeconds: 30, downAfterSeconds: 120 });
      return detail?.network?.neighbours.filter((n) => n.kind === "lldp").length === 2;
    }, () => `dev2's two LLDP neighbours, got ${JSON.stringify(detail?.network?.neighbours)}`, 60_000);
    assert.ok(detail?.network, "the host detail has the device");
    assert.equal(detail.status, "up");
    assert.equal(detail.network.sysName, "dev2");
    const uplink = detail.network.interfaces.find((i) => i.name === l1!.b.ifname)!;
    assert.deepEqual([uplink.adminUp, uplink.oper, uplink.speedBps], [true, "up", 10e9]);
    assert.ok(uplink.inBitsPerSecond !== null && uplink.inBitsPerSecond >= 0, "a rate after two polls");
    const lldp = detail.network.neighbours.filter((n) => n.kind === "lldp").map((n) => [n.localPort, n.name, n.hostId]).sort();
    assert.deepEqual(lldp, [[l1!.b.ifname, "dev1", await hostIdOf("dev1")], [l2!.a.ifname, "dev3", personHostId]].sort());

    const series = await querySeries(db, dev2, parseSeriesQuery({ metric: "interface_receive_bytes_per_second", interface: l1!.b.ifname, from: "0" }));
    assert.equal(series.source, "snmp");
    assert.deepEqual(series.series.map((x) => x.labels), [{ interface: l1!.b.ifname }]);
    assert.ok(series.series[0]!.points.length >= 1);
    const up = await querySeries(db, dev2, parseSeriesQuery({ metric: "interface_up_ratio", from: "0" }));
    assert.ok(up.series.length >= 3 && up.series.every((x) => x.points.every(([, v]) => v === 1)), JSON.stringify(up.series));
  });

  test("snmp model - a cut cable raises InterfaceDown on both ends' devices and clears when mended", async () => {
    const link = lab.links[0]!;
    lab.cutLink(0, true);
    try {
      let seen: unknown[] = [];
      await eventually(async () => {
        await poll();
        seen = (await openAlerts(db)).map((a) => [a.rule, a.state, a.labels]);
        return (await open("InterfaceDown")).length === 2;
      }, () => `InterfaceDown on both ends; open: ${JSON.stringify(seen)}`, 20_000);
      const down = (await open("InterfaceDown")).map((a) => [a.labels.host, a.labels.interface]).sort();
      assert.deepEqual(down, [["dev1", link.a.ifname], ["dev2", link.b.ifname]]);
    } finally {
      lab.cutLink(0, false);
    }
    await eventually(async () => {
      await poll();
      return (await open("InterfaceDown")).length === 0;
    }, "InterfaceDown resolved", 20_000);
  });

  test("snmp model - a device whose agent restarted (sysUpTime went back) is DeviceRebooted", async () => {
    // sysUpTime is in hundredths: let the first agent run long enough that its restart is seen going back.
    await new Promise((r) => setTimeout(r, 1500));
    await poll();
    await lab.restartSnmpd("dev1");
    await poll();
    const alerts = await open("DeviceRebooted");
    assert.deepEqual(alerts.map((a) => a.labels.host), ["dev1"]);
    assert.match(alerts[0]!.annotations.summary ?? "", /^dev1 restarted \d+ s ago \(sysUpTime went back\)$/);
  });

  test("snmp model - a device whose agent stops answering is DeviceUnreachable, and down on the map", async () => {
    lab.devices[2]!.snmpd!.kill("SIGKILL");
    await poll();
    const alerts = await open("DeviceUnreachable");
    assert.deepEqual(alerts.map((a) => a.labels.host), ["dev3"]);
    assert.match(alerts[0]!.annotations.summary ?? "", /dev3 \(10\.\d+\.3\.2\) does not answer SNMP: snmp lab\/10\.\d+\.3\.2: no answer/);
    const topology = await loadTopology(db, { includeUnassigned: true, networkLinks: true });
    const dev3 = topology.clients.flatMap((c) => c.sites.flatMap((s) => s.hosts)).find((h) => h.name === "dev3");
    assert.equal(dev3?.status, "down");
  });
});
