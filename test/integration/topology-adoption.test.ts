// Adoption against real PostgreSQL and OpenSSH's own config parser: what an agent reports
// (its hostname, addresses, MACs) is a claim a person confirms, never a route by itself.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { sql } from "kysely";
import { formatHostsTable } from "../../collector/src/cli/hosts.ts";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { listHosts } from "../../collector/src/hosts/repository.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology, loadTopology } from "../../collector/src/topology/repository.ts";
import { routeTo } from "../../collector/src/topology/routes.ts";
import { inventoryOf, topologyService } from "../../collector/src/topology/service.ts";
import { renderTopologySshConfig } from "../../collector/src/topology/ssh-config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const THRESHOLDS = { staleAfterSeconds: 30, downAfterSeconds: 120 };
const TOPOLOGY = `clients:
  - name: acme
    sites:
      - name: dc1
        hosts:
          - name: gw
            address: 203.0.113.1
          - name: web01
            via: gw
          - name: db01
            address: 10.0.1.6
            via: gw
`;

/** A report whose one real interface has this address and MAC. */
function agentReport(agentId: string, hostname: string, address: string, mac: string, seq = 1) {
  return sampleReport({
    agentId,
    hostname,
    seq,
    interfaces: [{ name: "eth0", mac, addresses: [{ address, prefixLength: 24 }], up: true, virtual: false }],
  });
}

describe("adoption: an agent claims a host, a person confirms", () => {
  let database: TestDatabase;
  let db: Db;
  let dir: string;

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    dir = mkdtempSync(join(tmpdir(), "netmap-adoption-"));
    await importTopology(db, parseTopologyFile(TOPOLOGY));
    // A guest Proxmox discovered, with the MAC and address its config and guest agent gave.
    const { rows } = await sql<{ id: number }>`
      INSERT INTO hosts (hostname, site_id, name, kind, source, addresses)
      SELECT 'win01', id, 'win01', 'vm', 'proxmox', '{10.0.0.12}' FROM sites WHERE name = 'dc1' RETURNING id`.execute(db);
    await sql`INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual) VALUES (${rows[0]!.id}, 'net0', 'bc:24:11:00:01:02', '{10.0.0.12/24}', true, false)`.execute(db);
  });

  after(async () => {
    await db?.destroy();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const service = () => topologyService(db, THRESHOLDS);
  const hostRow = (name: string) => db.selectFrom("hosts").select(["id", "agent_id", "address", "site_id"]).where("name", "=", name).executeTakeFirstOrThrow();
  /** What OpenSSH itself makes of the generated ssh_config for an alias: the host it would connect to. */
  const sshHostName = (config: string, alias: string) => {
    const file = join(dir, "ssh_config");
    writeFileSync(file, config);
    const result = spawnSync("ssh", ["-G", "-F", file, alias], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return /^hostname (.*)$/m.exec(result.stdout)![1];
  };

  test("an agent reporting a placed host's name, address or MAC is not attached to it: it gets its own host, shown as a claim", async () => {
    await storeBatch(db, [
      { report: agentReport("evil-name", "web01.acme.example", "192.0.2.66", "52:54:00:00:00:01"), receivedAt: new Date() },
      { report: agentReport("evil-ip", "box1", "10.0.1.6", "52:54:00:00:00:02"), receivedAt: new Date() },
      { report: agentReport("evil-mac", "box2", "192.0.2.77", "bc:24:11:00:01:02"), receivedAt: new Date() },
    ]);
    for (const name of ["web01", "db01", "win01"]) assert.equal((await hostRow(name)).agent_id, null, `${name} has no agent`);
    const hosts = await listHosts(db, THRESHOLDS);
    const claims = Object.fromEntries(hosts.filter((h) => h.agentId).map((h) => [h.agentId, h.claims]));
    assert.deepEqual(claims, { "evil-name": ["acme/dc1/web01"], "evil-ip": ["acme/dc1/db01"], "evil-mac": ["acme/dc1/win01"] });
    const table = formatHostsTable(hosts);
    assert.match(table, /^web01\.acme\.example .* 192\.0\.2\.66 \(unconfirmed\); claims acme\/dc1\/web01, unconfirmed$/m);
    assert.match(table, /^db01 .* 10\.0\.1\.6$/m, "a person's address is shown as the address");
  });

  test("no route, ssh_config block, inventory host or exported address uses what an agent or a guest agent reported", async () => {
    const topology = await service().topology();
    for (const host of ["acme/dc1/web01", "acme/dc1/win01", "unassigned/unassigned/box1", "unassigned/unassigned/box2"]) {
      assert.throws(() => routeTo(topology, host), { code: "ROUTE_NO_ADDRESS" }, host);
    }
    const config = renderTopologySshConfig(topology, { knownHostsFile: join(dir, "known_hosts") });
    assert.doesNotMatch(config, /192\.0\.2\.(66|77)|10\.0\.0\.12/);
    assert.equal(sshHostName(config, "acme.dc1.web01"), "acme.dc1.web01", "OpenSSH finds no block, so no address, for web01");
    assert.equal(sshHostName(config, "acme.dc1.db01"), "10.0.1.6");
    const inventory = inventoryOf(topology);
    const web01 = inventory._meta.hostvars.web01!;
    assert.equal(web01.ansible_host, undefined);
    assert.match(String(web01.netmap_route_error), /has no address/);
    assert.doesNotMatch(JSON.stringify(inventory), /192\.0\.2\.(66|77)|10\.0\.0\.12/);
    // `netmap agent install --all` takes its hosts and addresses from the export.
    assert.doesNotMatch(await service().exportFile(), /192\.0\.2\.(66|77)|10\.0\.0\.12/);
  });

  test("netmap adopt attaches the claiming agent and confirms its address; then SSH, ssh_config and the inventory use it", async () => {
    const agentHost = await db.selectFrom("hosts").select("id").where("agent_id", "=", "evil-name").executeTakeFirstOrThrow();
    assert.deepEqual(await service().adopt("acme/dc1/web01", {}), {
      host: "acme/dc1/web01", agentId: "evil-name", address: "192.0.2.66", agentAttached: true, addressConfirmed: true,
    });
    const web01 = await hostRow("web01");
    assert.equal(web01.agent_id, "evil-name");
    assert.equal(await db.selectFrom("hosts").select("id").where("id", "=", agentHost.id).executeTakeFirst(), undefined, "the agent's own host merged in");
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM report_samples WHERE host_id = ${web01.id}`.execute(db);
    assert.equal(rows[0]!.n, 1, "its reports moved with it");

    const topology = await service().topology();
    assert.deepEqual(routeTo(topology, "web01").map((hop) => hop.address), ["203.0.113.1", "192.0.2.66"]);
    assert.equal(sshHostName(renderTopologySshConfig(topology, {}), "acme.dc1.web01"), "192.0.2.66");
    assert.equal(inventoryOf(topology)._meta.hostvars.web01!.ansible_host, "192.0.2.66");

    // Its next report lands on web01; the export names the agent, and importing it changes nothing.
    await storeBatch(db, [{ report: agentReport("evil-name", "web01.acme.example", "192.0.2.66", "52:54:00:00:00:01", 2), receivedAt: new Date() }]);
    assert.equal((await db.selectFrom("hosts").select("seq").where("id", "=", web01.id).executeTakeFirstOrThrow()).seq, 2);
    const exported = await service().exportFile();
    assert.match(exported, /- name: web01\n {12}address: 192\.0\.2\.66\n {12}via: gw\n {12}agent_id: evil-name\n/);
    assert.deepEqual(await importTopology(db, parseTopologyFile(exported)), { created: 0, updated: 4, adopted: 0 });
    assert.equal(await service().exportFile(), exported);
  });

  test("adopting keeps the address a person wrote; a host several agents claim needs the agent named", async () => {
    await storeBatch(db, [{ report: agentReport("evil-ip2", "box3", "10.0.1.6", "52:54:00:00:00:03"), receivedAt: new Date() }]);
    await assert.rejects(service().adopt("db01", {}), { code: "BAD_REQUEST", message: /claimed by several agents \(evil-ip, evil-ip2\)/ });
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    const app = await buildApp(
      { config, db, registry: new Registry(), natsConnected: () => true, token: "adopt-token", loadTopology: () => loadTopology(db, { includeUnassigned: true }) },
      pino({ level: "silent" }),
    );
    try {
      const db01 = await hostRow("db01");
      const adopted = await app.inject({ method: "POST", url: `/api/v1/hosts/${db01.id}/adopt`, headers: { authorization: "Bearer adopt-token" }, payload: { agentId: "evil-ip" } });
      assert.equal(adopted.statusCode, 200, adopted.body);
      assert.deepEqual(adopted.json().adoption, { agentId: "evil-ip", address: "10.0.1.6", agentAttached: true, addressConfirmed: false });
      const refused = await app.inject({ method: "POST", url: `/api/v1/hosts/${db01.id}/adopt`, headers: { authorization: "Bearer adopt-token" }, payload: { agentId: "evil-ip2" } });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error.message, "host db01 already has agent evil-ip");
      const anonymous = await app.inject({ method: "POST", url: `/api/v1/hosts/${db01.id}/adopt`, payload: {} });
      assert.equal(anonymous.statusCode, 401);
      // No body: the host's own agent and address, confirmed again, change nothing.
      const again = await app.inject({ method: "POST", url: `/api/v1/hosts/${db01.id}/adopt`, headers: { authorization: "Bearer adopt-token" } });
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(again.json().adoption, { agentId: "evil-ip", address: "10.0.1.6", agentAttached: false, addressConfirmed: false });
    } finally {
      await app.close();
    }
  });

  test("an agent naming a placed host and reporting an address no ssh could take does not block the next import", async () => {
    const file = `${TOPOLOGY}          - name: mail01\n            via: gw\n`;
    await importTopology(db, parseTopologyFile(file));
    await storeBatch(db, [{ report: agentReport("evil-mail", "mail01", "-oProxyCommand=sh", "52:54:00:00:00:05"), receivedAt: new Date() }]);
    // Before issue 10 the agent took mail01 and its address stood in as mail01's: every import failed TOPOLOGY_INVALID.
    const again = await importTopology(db, parseTopologyFile(file));
    assert.equal(again.created, 0);
  });

  test("a pre-registered agent id lands on its host at once; an address it reports later, however bogus, never blocks an import", async () => {
    const file = `${TOPOLOGY}          - name: cache01\n            via: gw\n            agent_id: pre-cache\n`;
    assert.deepEqual(await importTopology(db, parseTopologyFile(file)), { created: 1, updated: 3, adopted: 1 });
    await storeBatch(db, [{ report: agentReport("pre-cache", "something-else", "-oProxyCommand=sh", "52:54:00:00:00:04"), receivedAt: new Date() }]);
    const cache01 = await db.selectFrom("hosts").select(["agent_id", "addresses", "address"]).where("name", "=", "cache01").executeTakeFirstOrThrow();
    assert.deepEqual(cache01, { agent_id: "pre-cache", addresses: ["-oProxyCommand=sh"], address: null });
    const loaded = await service().topology();
    assert.throws(() => routeTo(loaded, "cache01"), { code: "ROUTE_NO_ADDRESS" });
    assert.deepEqual(await importTopology(db, parseTopologyFile(file)), { created: 0, updated: 4, adopted: 0 });
    await assert.rejects(service().adopt("cache01", {}), { code: "BAD_REQUEST", message: /"-oProxyCommand=sh", is not an IP address or DNS name: give the address/ });
    assert.equal((await service().adopt("cache01", { address: "10.0.1.9" })).address, "10.0.1.9");
    assert.deepEqual(routeTo(await service().topology(), "cache01").map((hop) => hop.address), ["203.0.113.1", "10.0.1.9"]);
  });

  test("an agent id in a topology file must be an agent id, and one host's only", () => {
    assert.throws(() => parseTopologyFile(`${TOPOLOGY}          - name: a\n            agent_id: "Bad Id"\n`), { code: "TOPOLOGY_INVALID", message: /host acme\/dc1\/a: agent_id "Bad Id" is not 1-64 characters/ });
    assert.throws(() => parseTopologyFile(`${TOPOLOGY}          - name: a\n            agent_id: x\n          - name: b\n            agent_id: x\n`), { message: /host acme\/dc1\/b: agent_id x is already acme\/dc1\/a's/ });
  });
});
