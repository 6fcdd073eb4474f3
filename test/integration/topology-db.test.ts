import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Db } from "../../collector/src/db/database.ts";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { storeBatch } from "../../collector/src/ingest/store.ts";
import { formatTopologyFile, parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology, loadTopology } from "../../collector/src/topology/repository.ts";
import { createMigratedDatabase, type MigratedDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const FIXTURE = readFileSync(new URL("../fixtures/topology/two-clients.yaml", import.meta.url), "utf8");

describe("topology in PostgreSQL: import, export, merge with agents", () => {
  let database: MigratedDatabase;
  let db: Db;

  before(async () => {
    database = await createMigratedDatabase();
    ({ db } = database);
  });

  after(() => database?.drop());

  const hostRows = () => db.selectFrom("hosts").select(["id", "agent_id", "name", "hostname", "address", "site_id", "source", "fact_sources"]).orderBy("id").execute();

  test("import then export gives back the file; importing it again changes nothing", async () => {
    assert.deepEqual(await importTopology(db, parseTopologyFile(FIXTURE)), { created: 8, updated: 0, adopted: 0 });
    assert.equal(formatTopologyFile(await loadTopology(db)), FIXTURE);
    assert.deepEqual(await importTopology(db, parseTopologyFile(FIXTURE)), { created: 0, updated: 8, adopted: 0 });
    assert.equal(formatTopologyFile(await loadTopology(db)), FIXTURE);
    assert.equal((await hostRows()).length, 8);
  });

  test("an import that would make a cycle with stored hosts is refused whole", async () => {
    const before = await hostRows();
    const file = `clients:
  - name: acme
    sites:
      - name: paris-dc1
        hosts:
          - name: gw1
            via: pve1
          - name: pve1
            address: 10.0.0.2
`;
    await assert.rejects(importTopology(db, parseTopologyFile(file)), { code: "TOPOLOGY_INVALID", message: /cycle: .*gw1/ });
    assert.deepEqual(await hostRows(), before, "nothing was written");
  });

  // Before issue 10 an agent's first report attached it to the declared host it named (or
  // whose address it reported): one agent credential could take over any host's identity.
  test("an agent reporting a declared host's name is not attached to it: it reports on a host of its own, and the topology is unchanged", async () => {
    await storeBatch(db, [{ report: sampleReport({ agentId: "agent-web01", hostname: "web01.paris.example", seq: 1 }), receivedAt: new Date() }]);
    const rows = await hostRows();
    assert.equal(rows.length, 9, "a host of its own");
    const web01 = rows.find((r) => r.name === "web01")!;
    assert.equal(web01.agent_id, null, "not attached until a person confirms");
    assert.equal(web01.address, "10.0.1.5", "the declared address stays");
    assert.equal(web01.source, "person");
    assert.equal(web01.fact_sources.address, "person");
    assert.equal(rows.find((r) => r.agent_id === "agent-web01")!.site_id, null);
    assert.equal(formatTopologyFile(await loadTopology(db)), FIXTURE, "the topology is unchanged");
    const unassigned = (await loadTopology(db, { includeUnassigned: true, thresholds: { staleAfterSeconds: 30, downAfterSeconds: 120 } })).clients.find((c) => c.name === "unassigned")!;
    const host = unassigned.sites[0]!.hosts.find((h) => h.agentId === "agent-web01")!;
    assert.equal(host.status, "up");
    assert.deepEqual(host.claims, ["acme/paris-dc1/web01"]);
  });

  test("an agent reporting a declared host's IP address is not attached to it either", async () => {
    const report = sampleReport({ agentId: "agent-db", hostname: "localhost-renamed", seq: 1 });
    report.interfaces[1]!.addresses[0]!.address = "10.0.1.6";
    await storeBatch(db, [{ report, receivedAt: new Date() }]);
    const rows = await hostRows();
    assert.equal(rows.length, 10);
    assert.equal(rows.find((r) => r.name === "db01")!.agent_id, null);
  });

  test("an unknown agent becomes an unassigned host, its address shown but not used; an import attaches it only where the file names it", async () => {
    await storeBatch(db, [{ report: sampleReport({ agentId: "agent-new", hostname: "cache01", seq: 1 }), receivedAt: new Date() }]);
    const loaded = await loadTopology(db, { includeUnassigned: true });
    const unassigned = loaded.clients.find((c) => c.name === "unassigned")!.sites[0]!.hosts.filter((h) => h.agentId === "agent-new");
    // Before issue 10 the agent's address (192.0.2.10) was this host's SSH address.
    assert.deepEqual(unassigned.map((h) => [h.name, h.address, h.reportedAddresses, h.source]), [["cache01", null, ["192.0.2.10"], "agent"]]);

    const file = `clients:
  - name: globex
    sites:
      - name: fra
        hosts:
          - name: cache01
            address: 10.20.0.5
            via: jump
          - name: jump
            address: 2001:db8::10
            ssh:
              user: ops
              port: 2200
`;
    // Naming it is not enough (an agent chooses the name it reports): the host is created, and claimed.
    assert.deepEqual(await importTopology(db, parseTopologyFile(file)), { created: 1, updated: 1, adopted: 0 });
    assert.equal((await hostRows()).find((r) => r.agent_id === "agent-new")!.site_id, null);
    assert.deepEqual((await loadTopology(db, { includeUnassigned: true })).clients.at(-1)!.sites[0]!.hosts.find((h) => h.agentId === "agent-new")!.claims, ["globex/fra/cache01"]);

    assert.deepEqual(await importTopology(db, parseTopologyFile(file.replace("via: jump\n", "via: jump\n            agent_id: agent-new\n"))), { created: 0, updated: 2, adopted: 1 });
    const rows = await hostRows();
    assert.equal(rows.filter((r) => r.agent_id === "agent-new").length, 1);
    const cache = rows.find((r) => r.agent_id === "agent-new")!;
    assert.equal(cache.name, "cache01");
    assert.equal(cache.address, "10.20.0.5");
    assert.equal(cache.source, "person");
  });

  test("HTTP serves the topology and routes, with route errors as JSON naming the hosts", async () => {
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    const app = await buildApp(
      { config, db, registry: new Registry(), natsConnected: () => true, token: "topology-token", loadTopology: () => loadTopology(db, { includeUnassigned: true, thresholds: config }) },
      pino({ level: "silent" }),
    );
    const get = (url: string) => app.inject({ url, headers: { authorization: "Bearer topology-token" } });
    try {
      const topology = (await get("/api/v1/topology")).json().topology;
      // The two agents the earlier tests did not attach are under unassigned.
      assert.deepEqual(topology.clients.map((c: { name: string }) => c.name), ["acme", "globex", "unassigned"]);
      const route = await get("/api/v1/routes/web01");
      assert.equal(route.statusCode, 200);
      assert.deepEqual(route.json().hops.map((h: { ssh: string }) => h.ssh), ["admin@203.0.113.10", "10.0.0.1:2222", "10.0.0.2", "10.0.1.5"]);
      const ambiguous = await get("/api/v1/routes/gw1");
      assert.equal(ambiguous.statusCode, 409);
      assert.match(ambiguous.json().error.message, /acme\/paris-dc1\/gw1, acme\/lyon\/gw1/);
      assert.equal((await get("/api/v1/routes/nope")).statusCode, 404);
      // A hop loses its address (as a discovery might leave it): the route names it.
      await db.updateTable("hosts").set({ address: null }).where("name", "=", "gw2").execute();
      const broken = await get("/api/v1/routes/acme%2Fparis-dc1%2Fweb01");
      assert.equal(broken.statusCode, 422);
      assert.deepEqual(broken.json().error, { code: "ROUTE_NO_ADDRESS", message: "route to acme/paris-dc1/web01: hop gw2 has no address" });
    } finally {
      await app.close();
    }
  });
});
