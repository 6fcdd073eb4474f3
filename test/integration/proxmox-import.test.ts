// Proxmox discovery beside a person's topology: a node's address comes from its network
// configuration (/nodes/{node}/network) so routes go through it, a person's address wins, and
// importing a file never fails because of what discovery put in the map (the bug: with
// discovery running, an unrelated file was refused with "host …/pve3: has no address, but
// mon01 is reached through it").
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Db } from "../../collector/src/db/database.ts";
import type { ProxmoxPoller } from "../../collector/src/proxmox/poller.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology, loadTopology } from "../../collector/src/topology/repository.ts";
import { routeTo } from "../../collector/src/topology/routes.ts";
import type { FakeProxmox } from "../fakes/proxmox/server.ts";
import { clusterGuests, clusterNodes } from "../fixtures/proxmox/cluster.ts";
import { startProxmoxRig, type ProxmoxRig } from "../helpers/proxmox-rig.ts";

let rig: ProxmoxRig;
let pve: FakeProxmox;
let db: Db;
let poller: ProxmoxPoller;

before(async () => {
  rig = await startProxmoxRig({ nodes: clusterNodes(), guests: clusterGuests() });
  ({ pve, db, poller } = rig);
});

after(() => rig?.close());

const node = (name: string) => pve.state.nodes.find((n) => n.node === name)!;
const hostFacts = async (name: string) =>
  db.selectFrom("hosts").select(["address", "addresses", "fact_sources"]).where("name", "=", name).executeTakeFirstOrThrow();

describe("node addresses", () => {
  test("the address of the bridge with the gateway is the node's SSH address, and routes to it and its guests go through it", async () => {
    // pve3 answers 403 for /network (no Sys.Audit): the node stays fresh, without an address.
    node("pve3").networkForbidden = true;
    const inventory = (await poller.runOnce())[0]!.inventory;
    assert.deepEqual(inventory.failures.map((f) => [f.what, f.code]), [["node pve3 network", "PROXMOX_FORBIDDEN"]]);
    assert.match(inventory.failures[0]!.message, /lacks Sys\.Audit on \/nodes\/pve3/);
    assert.equal(inventory.nodes.find((n) => n.node === "pve3")!.staleReason, null);

    const pve1 = await hostFacts("pve1");
    assert.equal(pve1.address, "10.0.0.2");
    assert.deepEqual(pve1.addresses, ["10.0.0.2", "192.0.2.2", "2001:db8::2"]);
    assert.equal(pve1.fact_sources.address, "proxmox");
    assert.equal((await hostFacts("pve2")).address, "10.0.0.3", "address + netmask without cidr (PVE before 7)");
    assert.equal((await hostFacts("pve3")).address, null);

    const route = routeTo(await loadTopology(db), "acme/paris-dc1/pve1");
    assert.deepEqual(route.map((hop) => [hop.name, hop.address]), [["pve1", "10.0.0.2"]]);
  });

  test("a person's address for a node wins over PVE's, cycle after cycle", async () => {
    await importTopology(db, parseTopologyFile(`
clients:
  - name: acme
    sites:
      - name: paris-dc1
        hosts:
          - name: pve2
            address: 198.51.100.3
            kind: hypervisor
`));
    await poller.runOnce();
    const pve2 = await hostFacts("pve2");
    assert.deepEqual([pve2.address, pve2.fact_sources.address], ["198.51.100.3", "person"]);
  });
});

describe("importing next to discovery", () => {
  test("an unrelated file imports although a discovered node has no address and a guest is reached through it", async () => {
    assert.equal((await hostFacts("pve3")).address, null);
    const result = await importTopology(db, parseTopologyFile(`
clients:
  - name: globex
    sites:
      - name: lyon
        bastion: gw
        hosts:
          - name: gw
            address: 203.0.113.1
          - name: app
            address: 10.9.0.5
`));
    assert.deepEqual(result, { created: 2, updated: 0, adopted: 0 });
    assert.deepEqual(routeTo(await loadTopology(db), "globex/lyon/app").map((hop) => hop.name), ["gw", "app"]);
  });

  test("a file placing hosts in the discovered site imports too, and a guest a person gives an address is reached through its node", async () => {
    await importTopology(db, parseTopologyFile(`
clients:
  - name: acme
    sites:
      - name: paris-dc1
        hosts:
          - name: dns01
            address: 10.0.0.5
          - name: backup01
            address: 10.0.0.40
`));
    const topology = await loadTopology(db);
    assert.deepEqual(routeTo(topology, "acme/paris-dc1/dns01").map((hop) => [hop.name, hop.address]), [["pve1", "10.0.0.2"], ["dns01", "10.0.0.5"]]);
    assert.throws(() => routeTo(topology, "acme/paris-dc1/mon01"), (error: Error & { code?: string }) => error.code === "ROUTE_NO_ADDRESS");
  });

  test("a file that itself routes through a host without an address is still refused, naming it", async () => {
    await assert.rejects(
      async () => importTopology(db, parseTopologyFile(`
clients:
  - name: initech
    sites:
      - name: austin
        hosts:
          - name: jump
          - name: db
            address: 10.1.0.9
            via: jump
`)),
      /host initech\/austin\/jump: has no address, but db is reached through it/,
    );
  });
});
