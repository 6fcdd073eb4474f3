// `netmap serve` with an snmp: section, against two real snmpd + lldpd devices cabled together:
// the lease holder sweeps them on its interval, the devices and their link reach the HTTP API
// and the map, and the community never reaches the log.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { createSnmpLab, SNMP_COMMUNITY, type SnmpLab } from "../helpers/snmp-lab.ts";
import { eventually } from "../helpers/wait.ts";

describe("netmap serve polls network devices", () => {
  let lab: SnmpLab;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  before(async () => {
    lab = await createSnmpLab({ devices: 2, links: [[1, 2]], lldp: true });
    nats = await startNatsServer();
    database = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), "netmap-snmp-serve-"));
    writeFileSync(join(dir, "community"), SNMP_COMMUNITY, { mode: 0o600 });
    const config = join(dir, "netmap.yaml");
    writeFileSync(config, [
      "snmp:",
      "  - name: lab",
      `    targets: [${lab.devices.map((d) => d.address).join(", ")}]`,
      "    version: 2c",
      `    community_file: ${join(dir, "community")}`,
      "    interval: 1s",
      "    timeout: 500ms",
      "    client: acme",
      "    site: lab",
      "",
    ].join("\n"));
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: { NETMAP_CONFIG: config } });
  });
  after(async () => {
    await collector?.stop();
    await database?.drop();
    await nats?.stop();
    await lab?.close();
  });

  test("snmp serve - the devices are hosts of the API, up, and their cable is a link of the map", async () => {
    let topology: any;
    await eventually(async () => {
      topology = (await collector.get("/api/v1/topology")).body.topology;
      // Each device's poll is stored on its own: a link can show before the other end's first poll is in.
      const placed = topology.clients.find((c: { name: string }) => c.name === "acme")?.sites[0]?.hosts ?? [];
      return placed.length === 2 && topology.links?.some((l: { kind: string }) => l.kind === "lldp");
    }, () => `both devices and an LLDP link in ${JSON.stringify(topology)}`, 30_000);
    const hosts = topology.clients.find((c: { name: string }) => c.name === "acme").sites[0].hosts;
    assert.deepEqual(hosts.map((h: { name: string; kind: string; status: string }) => [h.name, h.kind, h.status]).sort(), [["dev1", "network", "up"], ["dev2", "network", "up"]]);
    const dev1 = hosts.find((h: { name: string }) => h.name === "dev1");
    const { status, body } = await collector.get(`/api/v1/hosts/${dev1.id}`);
    assert.equal(status, 200);
    assert.equal(body.host.network.sysName, "dev1");
    assert.ok(body.host.network.interfaces.some((i: { name: string }) => i.name === lab.links[0]!.a.ifname));
    const svg = (await collector.get("/api/v1/topology.svg")).body as string;
    // Graphviz writes a hyphen in SVG text as &#45;.
    assert.match(svg, new RegExp(`LLDP link .*${lab.links[0]!.a.ifname.replaceAll("-", "&#45;")}.*: up, 10G`));
    assert.doesNotMatch(JSON.stringify(collector.logs), new RegExp(SNMP_COMMUNITY));
  });
});
