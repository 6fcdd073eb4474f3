import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { sql } from "kysely";
import type { Db } from "../../collector/src/db/database.ts";
import { ProxmoxClient, DEFAULT_MAX_RESPONSE_BYTES } from "../../collector/src/proxmox/client.ts";
import { Secret, type ProxmoxClusterConfig } from "../../collector/src/proxmox/config.ts";
import { discover } from "../../collector/src/proxmox/discovery.ts";
import type { ProxmoxPoller } from "../../collector/src/proxmox/poller.ts";
import { proxmoxDetail } from "../../collector/src/proxmox/repository.ts";
import { listHosts } from "../../collector/src/hosts/repository.ts";
import { adoptHost, listClaims } from "../../collector/src/topology/adoption.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { decodeInventoryEvent, type InventoryEvent } from "../../proto/src/codec.ts";
import type { FakeProxmox } from "../fakes/proxmox/server.ts";
import { clusterGuests, clusterNodes } from "../fixtures/proxmox/cluster.ts";
import { startProxmoxRig, type ProxmoxRig } from "../helpers/proxmox-rig.ts";

let rig: ProxmoxRig;
let pve: FakeProxmox;
let nc: NatsConnection;
let db: Db;
let poller: ProxmoxPoller;
let cluster: ProxmoxClusterConfig;
let events: InventoryEvent[] = [];
let subscription: Subscription;

const client = (overrides: Partial<{ secret: string; fingerprint: string | null; timeoutMs: number }> = {}) =>
  new ProxmoxClient({
    url: pve.url,
    tokenId: pve.tokenId,
    tokenSecret: new Secret(overrides.secret ?? pve.secret),
    fingerprint: overrides.fingerprint === undefined ? pve.fingerprint : overrides.fingerprint,
    timeoutMs: overrides.timeoutMs ?? 2000,
    concurrency: 8,
    maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  });

before(async () => {
  rig = await startProxmoxRig({ nodes: clusterNodes(), guests: clusterGuests(), timeoutSeconds: 1 });
  ({ pve, nc, db, poller, cluster } = rig);
  subscription = nc.subscribe("netmap.v1.inventory.>");
  void (async () => {
    for await (const msg of subscription) events.push(decodeInventoryEvent(msg.data));
  })();
});

after(() => rig?.close());

/** One cycle, and the InventoryEvents it published, as "change name [changed…]". */
async function cycle() {
  events = [];
  const [result] = await poller.runOnce();
  await nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  const seen = events.map((e) => `${e.change} ${e.name}${e.changed.length ? ` [${e.changed.join(",")}]` : ""}`).sort();
  return { ...result!, seen };
}

async function inventoryRows() {
  const { rows } = await sql<{ name: string; kind: string; parent: string | null; vmid: number; status: string; stale: boolean; gone: boolean; macs: string[]; addresses: string[]; source: string }>`
    SELECT h.name, h.kind, h.parent, r.vmid, r.status, r.stale_reason IS NOT NULL AS stale, r.gone_at IS NOT NULL AS gone, h.source,
           coalesce((SELECT array_agg(i.mac ORDER BY i.mac) FROM host_interfaces i WHERE i.host_id = h.id), '{}') AS macs, h.addresses
    FROM proxmox_resources r JOIN hosts h ON h.id = r.host_id ORDER BY r.type = 'node' DESC, r.vmid, h.name`.execute(db);
  return rows;
}

describe("proxmox discovery against a stand-in PVE 8 API over HTTPS", () => {
  test("a wrong token is refused: 401, named clearly, nothing listed", async () => {
    const c = client({ secret: "wrong" });
    const inventory = await discover(c, "lab");
    c.close();
    assert.equal(inventory.listed, false);
    assert.equal(inventory.failures[0]!.code, "PROXMOX_UNAUTHORIZED");
    assert.match(inventory.failures[0]!.message, /API token monitor@pve!netmap was refused \(401 invalid token value!\)/);
    assert.doesNotMatch(JSON.stringify(inventory), /wrong/, "the secret appears nowhere");
  });

  test("a certificate that does not match the pin is refused, naming both fingerprints, before anything is sent", async () => {
    const pinned = "AA:".repeat(31) + "AA";
    await new Promise((r) => setTimeout(r, 100)); // calls of the previous test still in flight
    const callsBefore = pve.calls.length;
    const c = client({ fingerprint: pinned });
    const inventory = await discover(c, "lab");
    c.close();
    assert.equal(inventory.failures[0]!.code, "PROXMOX_FINGERPRINT_MISMATCH");
    assert.ok(inventory.failures[0]!.message.includes(`pinned: ${pinned}`), inventory.failures[0]!.message);
    assert.ok(inventory.failures[0]!.message.includes(`offered: ${pve.fingerprint}`), inventory.failures[0]!.message);
    assert.equal(pve.calls.length, callsBefore, "no request reached the server");
  });

  test("without a pin, the system CAs refuse the self-signed certificate", async () => {
    const c = client({ fingerprint: null });
    const inventory = await discover(c, "lab");
    c.close();
    assert.equal(inventory.failures[0]!.code, "PROXMOX_TLS");
    assert.match(inventory.failures[0]!.message, /pin its SHA-256 fingerprint/);
  });

  test("an HTML page is an error, not data", async () => {
    pve.state.html.set("/cluster/resources", 200);
    try {
      const c = client();
      const inventory = await discover(c, "lab");
      c.close();
      assert.equal(inventory.listed, false);
      assert.equal(inventory.failures[0]!.code, "PROXMOX_BAD_RESPONSE");
      assert.match(inventory.failures[0]!.message, /HTML page/);
    } finally {
      pve.state.html.clear();
    }
  });

  let web01Id: number;
  let dns01AgentHost: number;
  test("the first cycle maps every node and guest exactly, merged with what a person and an agent stated", async () => {
    // A person declared web01; an agent reported dns01 by MAC before anyone placed it.
    await importTopology(db, {
      clients: [{ name: "acme", sites: [{ name: "paris-dc1", bastion: null, hosts: [
        { name: "web01", kind: "vm", address: "203.0.113.80", ssh: { user: "admin", port: 22 }, via: null, parent: null, labels: { team: "web" }, source: "person" },
      ] }] }],
    });
    web01Id = (await db.selectFrom("hosts").select("id").where("name", "=", "web01").executeTakeFirstOrThrow()).id;
    const { rows } = await sql<{ id: number }>`INSERT INTO hosts (agent_id, hostname, addresses) VALUES ('agent-dns', 'dns01.acme.example', '{10.0.0.5}') RETURNING id`.execute(db);
    dns01AgentHost = rows[0]!.id;
    await sql`INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual) VALUES (${dns01AgentHost}, 'eth0', 'bc:24:11:5e:7a:01', '{10.0.0.5/24}', true, false)`.execute(db);

    const { inventory, seen } = await cycle();
    assert.equal(inventory.complete, true);
    assert.deepEqual(inventory.failures, []);
    assert.deepEqual(inventory.templates, [{ type: "qemu", vmid: 9000, name: "debian-12-template", node: "pve1" }]);
    assert.deepEqual(
      inventory.guests.map((g) => [g.vmid, g.agent]),
      [[100, "ok"], [101, "ok"], [102, "ok"], [103, "not-running"], [104, "not-configured"], [105, "not-asked"], [106, "ok"], [107, "ok"]],
    );
    assert.deepEqual(await inventoryRows(), [
      { name: "pve1", kind: "hypervisor", parent: null, vmid: 0, status: "online", stale: false, gone: false, macs: [], addresses: ["10.0.0.2", "192.0.2.2", "2001:db8::2"], source: "proxmox" },
      { name: "pve2", kind: "hypervisor", parent: null, vmid: 0, status: "online", stale: false, gone: false, macs: [], addresses: ["10.0.0.3"], source: "proxmox" },
      { name: "pve3", kind: "hypervisor", parent: null, vmid: 0, status: "online", stale: false, gone: false, macs: [], addresses: [], source: "proxmox" },
      { name: "web01", kind: "vm", parent: "pve1", vmid: 100, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:00:01", "bc:24:11:00:00:0a", "bc:24:11:aa:bb:cc"], addresses: ["10.0.0.10", "192.0.2.10"], source: "person" },
      // A host of Proxmox's own: the agent that reported its MAC only claims it (before issue 10, Proxmox took the agent's host).
      { name: "dns01", kind: "container", parent: "pve1", vmid: 101, status: "running", stale: false, gone: false, macs: ["bc:24:11:5e:7a:01"], addresses: ["10.0.0.5"], source: "proxmox" },
      { name: "win01", kind: "vm", parent: "pve1", vmid: 102, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:01:02"], addresses: ["10.0.0.12"], source: "proxmox" },
      { name: "build01", kind: "vm", parent: "pve2", vmid: 103, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:01:03"], addresses: [], source: "proxmox" },
      { name: "legacy01", kind: "vm", parent: "pve2", vmid: 104, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:01:04"], addresses: [], source: "proxmox" },
      { name: "cache01", kind: "container", parent: "pve2", vmid: 105, status: "stopped", stale: false, gone: false, macs: ["bc:24:11:00:01:05"], addresses: ["10.0.0.7"], source: "proxmox" },
      { name: "dhcp01", kind: "container", parent: "pve2", vmid: 106, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:01:06", "bc:24:11:00:01:16"], addresses: ["10.0.0.50"], source: "proxmox" },
      { name: "mon01", kind: "container", parent: "pve3", vmid: 107, status: "running", stale: false, gone: false, macs: ["bc:24:11:00:01:07"], addresses: ["10.0.0.8"], source: "proxmox" },
    ]);
    // What the person stated stays; Proxmox added the parent.
    const web01 = await db.selectFrom("hosts").select(["id", "address", "ssh_user", "labels", "fact_sources", "site_id"]).where("name", "=", "web01").executeTakeFirstOrThrow();
    assert.equal(web01.id, web01Id);
    assert.equal(web01.address, "203.0.113.80");
    assert.equal(web01.ssh_user, "admin");
    assert.deepEqual(web01.labels, { team: "web" });
    assert.equal(web01.fact_sources.kind, "person");
    assert.equal(web01.fact_sources.parent, "proxmox");
    const dns01 = await db.selectFrom("hosts").select(["id", "agent_id"]).where("name", "=", "dns01").executeTakeFirstOrThrow();
    assert.equal(dns01.agent_id, null);
    assert.deepEqual(
      (await listClaims(db)).map((c) => [c.agentHostId, c.host, c.matchedBy]),
      [[dns01AgentHost, "acme/paris-dc1/dns01", "name"]],
    );
    // A person adopts it: the agent's host merges into Proxmox's, which keeps its resource.
    assert.deepEqual(await adoptHost(db, dns01.id, {}), { agentId: "agent-dns", address: "10.0.0.5", agentAttached: true, addressConfirmed: true });
    const { rows: merged } = await sql<{ agent_id: string; cluster: string; n: number }>`
      SELECT h.agent_id, r.cluster, (SELECT count(*)::int FROM hosts WHERE id = ${dns01AgentHost}) AS n
      FROM hosts h JOIN proxmox_resources r ON r.host_id = h.id WHERE h.id = ${dns01.id}`.execute(db);
    assert.deepEqual(merged, [{ agent_id: "agent-dns", cluster: "lab", n: 0 }]);

    assert.deepEqual(seen, [
      "added build01", "added cache01", "added dhcp01", "added dns01", "added legacy01", "added mon01",
      "added pve1", "added pve2", "added pve3", "added web01", "added win01",
    ]);
    const web01Event = events.find((e) => e.name === "web01")!;
    assert.deepEqual(
      { client: web01Event.client, site: web01Event.site, kind: web01Event.kind, parent: web01Event.parent, cluster: web01Event.cluster, node: web01Event.node, vmid: web01Event.vmid, tags: web01Event.tags, macs: web01Event.macs, addresses: web01Event.addresses },
      { client: "acme", site: "paris-dc1", kind: "vm", parent: "pve1", cluster: "lab", node: "pve1", vmid: 100, tags: ["prod", "web"], macs: ["bc:24:11:aa:bb:cc", "bc:24:11:00:00:01", "bc:24:11:00:00:0a"], addresses: ["10.0.0.10", "192.0.2.10"] },
    );
  });

  test("the next cycle changes nothing and computes rates; figures and storage are in the host detail", async () => {
    const guest = pve.state.guests.find((g) => g.vmid === 100)!;
    guest.figures = { ...guest.figures, netin: 1_000_000 + 600_000, netout: 500_000 };
    const { seen } = await cycle();
    assert.deepEqual(seen, []);
    const detail = await proxmoxDetail(db, web01Id);
    assert.equal(detail?.cluster, "lab");
    assert.equal(detail?.vmid, 100);
    assert.equal(detail?.status, "running");
    assert.deepEqual(detail?.tags, ["prod", "web"]);
    assert.equal(detail?.latest.cpuPercent, 25);
    assert.equal(detail?.latest.memoryUsedBytes, 2147483648);
    assert.ok(detail!.latest.networkRxBytesPerSecond! > 0, "a receive rate from the counter's delta");
    assert.equal(detail?.latest.networkTxBytesPerSecond, 0);
    const node = await db.selectFrom("hosts").select("id").where("name", "=", "pve1").executeTakeFirstOrThrow();
    const nodeDetail = await proxmoxDetail(db, node.id);
    assert.deepEqual(nodeDetail?.storage.map((s) => [s.storage, s.usedPercent]), [["local", 9.7], ["local-lvm", 90]]);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM proxmox_samples WHERE host_id = ${web01Id}`.execute(db);
    assert.equal(rows[0]!.n, 2);
    // Without an agent, the host list takes a guest's status from Proxmox.
    const status = await hostStatuses();
    assert.deepEqual([status.get("win01"), status.get("cache01"), status.get("pve1")], ["up", "down", "up"]);
  });

  test("the host list shows Proxmox's CPU and memory for a host no agent reports on", async () => {
    const hosts = await listHosts(db, { staleAfterSeconds: 30, downAfterSeconds: 120 });
    const web01 = hosts.find((h) => h.id === web01Id)!;
    assert.deepEqual([web01.cpuPercent, web01.memoryPercent, web01.memoryTotalBytes], [25, 50, 4294967296]);
    const cache01 = hosts.find((h) => h.hostname === "cache01")!;
    assert.deepEqual([cache01.cpuPercent, cache01.memoryPercent], [0, 0], "a stopped guest uses nothing");
    assert.equal(typeof hosts.find((h) => h.hostname === "pve1")!.cpuPercent, "number", "a node too");
  });

  test("a node answering 595 keeps its guests, stale, never gone — even one missing from the listing", async () => {
    pve.state.nodes.find((n) => n.node === "pve3")!.unreachable = true;
    const { inventory, seen } = await cycle();
    assert.equal(inventory.complete, false);
    assert.equal(inventory.failures[0]!.code, "PROXMOX_NODE_UNREACHABLE");
    assert.deepEqual(seen, ["changed mon01 [status,stale]", "changed pve3 [stale]"]);
    const mon01 = (await inventoryRows()).find((r) => r.name === "mon01")!;
    assert.deepEqual([mon01.stale, mon01.gone, mon01.addresses], [true, false, ["10.0.0.8"]], "last known addresses kept");
    assert.equal((await hostStatuses()).get("mon01"), "stale", "the host list shows it stale, not down");

    // The guest vanishes from the listing while its node is unreachable: kept.
    const mon = pve.state.guests.find((g) => g.vmid === 107)!;
    pve.state.guests = pve.state.guests.filter((g) => g !== mon);
    assert.deepEqual((await cycle()).seen, []);
    assert.equal((await inventoryRows()).find((r) => r.name === "mon01")!.gone, false);

    pve.state.guests.push(mon);
    pve.state.nodes.find((n) => n.node === "pve3")!.unreachable = false;
    assert.deepEqual((await cycle()).seen, ["changed mon01 [status,stale]", "changed pve3 [stale]"]);
  });

  test("a slow node times out without losing the others", async () => {
    pve.state.nodes.find((n) => n.node === "pve2")!.delayMs = 3000;
    try {
      const started = Date.now();
      const { inventory, seen } = await cycle();
      assert.ok(Date.now() - started < 2500, "one timeout (1 s), not one per guest");
      assert.equal(inventory.complete, false);
      assert.equal(inventory.failures.find((f) => f.what === "node pve2")?.code, "PROXMOX_TIMEOUT");
      assert.deepEqual(seen, ["changed build01 [stale]", "changed cache01 [stale]", "changed dhcp01 [stale]", "changed legacy01 [stale]", "changed pve2 [stale]"]);
      const rows = await inventoryRows();
      assert.deepEqual(rows.filter((r) => r.stale).map((r) => r.name), ["pve2", "build01", "legacy01", "cache01", "dhcp01"]);
      assert.deepEqual(rows.find((r) => r.name === "win01")!.addresses, ["10.0.0.12"]);
    } finally {
      pve.state.nodes.find((n) => n.node === "pve2")!.delayMs = 0;
    }
    assert.equal((await cycle()).seen.length, 5);
  });

  test("an empty listing (no VM.Audit) marks nothing gone", async () => {
    pve.state.hideGuests = true;
    try {
      const { inventory, seen } = await cycle();
      assert.equal(inventory.complete, false);
      assert.ok(inventory.failures.some((f) => f.code === "PROXMOX_EMPTY_LISTING"));
      assert.ok(seen.every((s) => s.startsWith("changed") && s.endsWith("[stale]")), seen.join("; "));
      assert.equal((await inventoryRows()).filter((r) => r.gone).length, 0);
    } finally {
      pve.state.hideGuests = false;
    }
    await cycle();
  });

  test("a guest removed is gone after a complete listing without it, and comes back as itself", async () => {
    const legacy = pve.state.guests.find((g) => g.vmid === 104)!;
    const hostId = (await db.selectFrom("hosts").select("id").where("name", "=", "legacy01").executeTakeFirstOrThrow()).id;
    pve.state.guests = pve.state.guests.filter((g) => g !== legacy);
    const removed = await cycle();
    assert.equal(removed.inventory.complete, true);
    assert.deepEqual(removed.seen, ["removed legacy01"]);
    assert.equal((await inventoryRows()).find((r) => r.name === "legacy01")!.gone, true);

    pve.state.guests.push(legacy);
    const back = await cycle();
    assert.deepEqual(back.seen, ["added legacy01 [back]"]);
    const row = (await inventoryRows()).find((r) => r.name === "legacy01")!;
    assert.equal(row.gone, false);
    assert.equal((await db.selectFrom("hosts").select("id").where("name", "=", "legacy01").executeTakeFirstOrThrow()).id, hostId);
  });

  test("a listing that fails marks everything stale and nothing gone", async () => {
    pve.state.html.set("/nodes", 502);
    try {
      const { inventory, seen } = await cycle();
      assert.equal(inventory.listed, false);
      assert.equal(seen.length, 11);
      assert.equal((await inventoryRows()).filter((r) => r.gone).length, 0);
    } finally {
      pve.state.html.clear();
    }
  });
});

async function hostStatuses(): Promise<Map<string, string>> {
  const hosts = await listHosts(db, { staleAfterSeconds: 30, downAfterSeconds: 120 });
  return new Map(hosts.map((h) => [h.hostname, h.status]));
}
