// Containers on the map, from a real Docker daemon (test/helpers/dockerd.ts) to `netmap serve`:
// the real agent (--once --json) lists them, its reports go through NATS and ingest, and each
// container becomes a host of kind container under docker01 in /api/v1/topology, its detail
// (image, state, network address and MAC, ports, Compose labels) in /api/v1/hosts/:id, a node
// inside docker01's box of the map, grouped by Compose project; InventoryEvents on NATS. A
// container removed is gone after a complete listing; a stopped daemon keeps them, stale.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import type { InventoryEvent } from "../../proto/gen/netmap/v1/inventory.ts";
import { decodeInventoryEvent, encodeReport } from "../../proto/src/codec.ts";
import { reportSubject } from "../../proto/src/subjects.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { BUSYBOX_IMAGE, startDockerd, type TestDockerd } from "../helpers/dockerd.ts";
import { eventually } from "../helpers/wait.ts";

const run = promisify(execFile);
const AGENT = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const AGENT_ID = "containers-map";
/** A private subnet for the test's Docker network, from the pid so that parallel runs differ. */
const SUBNET = `10.251.${process.pid % 250}.0/24`;

describe("containers on the map (real dockerd, netmap serve)", () => {
  let dockerd: TestDockerd;
  let bed: CliTestbed;
  let nc: NatsConnection;
  let events: InventoryEvent[] = [];
  let seq = 1;

  async function container(name: string, spec: Record<string, unknown>): Promise<string> {
    const created = await dockerd.api("POST", `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, ...spec });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await dockerd.api("POST", `/containers/${name}/start`)).status, 204);
    return created.body.Id;
  }

  /** One report of the real agent, sent as the agent sends it (a later seq and time each call). */
  async function report(): Promise<HostReport> {
    const { stdout } = await run(process.execPath, [AGENT, "--once", "--json", "--agent-id", AGENT_ID], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: dockerd.socket } });
    const r = HostReport.fromJSON(JSON.parse(stdout));
    r.seq = seq++;
    r.collectedAt = new Date();
    await nc.publish(reportSubject(AGENT_ID), encodeReport(r));
    return r;
  }

  const hostsOf = async () => {
    const topology = (await bed.collector.get("/api/v1/topology")).body.topology;
    return (topology.clients.find((c: { name: string }) => c.name === "lab")?.sites[0]?.hosts ?? []) as any[];
  };

  before(async () => {
    dockerd = await startDockerd();
    bed = await startCliTestbed();
    nc = await connect({ servers: bed.nats.url });
    const sub: Subscription = nc.subscribe("netmap.v1.inventory.>");
    void (async () => {
      for await (const m of sub) events.push(decodeInventoryEvent(m.data));
    })();
    const network = await dockerd.api("POST", "/networks/create", { Name: "shop_default", Driver: "bridge", IPAM: { Config: [{ Subnet: SUBNET }] } });
    assert.equal(network.status, 201, JSON.stringify(network.body));
    const compose = (service: string) => ({ "com.docker.compose.project": "shop", "com.docker.compose.service": service });
    await container("shop-web-1", { Cmd: ["/bin/sleep", "1000"], Labels: compose("web"), ExposedPorts: { "80/tcp": {} }, HostConfig: { NetworkMode: "shop_default" } });
    await container("shop-db-1", { Cmd: ["/bin/sleep", "1000"], Labels: compose("db"), HostConfig: { NetworkMode: "shop_default" } });
    await container("scratch", { Cmd: ["/bin/sleep", "1000"] });
    // docker01 placed by a person first, its agent attached: its containers land in its site.
    const file = join(bed.dir, "topology.yaml");
    writeFileSync(file, `clients:\n  - name: lab\n    sites:\n      - name: docker\n        hosts:\n          - name: docker01\n            address: 127.0.0.1\n            agent_id: ${AGENT_ID}\n          - name: shop-db-1\n            kind: server\n            labels: { owner: dba }\n`);
    const imported = await bed.netmap(["import", file]);
    assert.equal(imported.code, 0, imported.stderr);
  });

  after(async () => {
    await nc?.close();
    await bed?.close();
    // The network's bridge goes with it, before the daemon stops.
    await dockerd?.api("DELETE", "/containers/shop-web-1?force=true").catch(() => {});
    await dockerd?.api("DELETE", "/containers/shop-db-1?force=true").catch(() => {});
    await dockerd?.api("DELETE", "/networks/shop_default").catch(() => {});
    await dockerd?.stop();
  });

  test("each container is a host of kind container under its host, with its image, state, network and Compose labels", async () => {
    const sent = await report();
    assert.equal(sent.containerEngine?.socket, dockerd.socket);
    let hosts: any[] = [];
    await eventually(async () => (hosts = await hostsOf()).filter((h) => h.container).length === 3, () => `three containers in ${JSON.stringify(hosts)}`, 30_000);
    const byName = new Map(hosts.map((h) => [h.name, h]));
    for (const name of ["shop-web-1", "scratch"]) {
      const h = byName.get(name);
      assert.deepEqual([h.kind, h.parent, h.source, h.status, h.container.image, h.container.state], ["container", "docker01", "agent", "up", BUSYBOX_IMAGE, "running"]);
    }
    assert.deepEqual(byName.get("shop-web-1").container.compose, { project: "shop", service: "web" });
    assert.equal(byName.get("scratch").container.compose, null);
    // The host a person declared with that name is the container's host: their kind and labels stay.
    const db = byName.get("shop-db-1");
    assert.deepEqual([db.kind, db.parent, db.labels, db.container.compose.service], ["server", "docker01", { owner: "dba" }, "db"]);

    const inspect = (await dockerd.api("GET", "/containers/shop-web-1/json")).body;
    const endpoint = inspect.NetworkSettings.Networks.shop_default;
    const detail = (await bed.collector.get(`/api/v1/hosts/${byName.get("shop-web-1").id}`)).body.host;
    assert.equal(detail.status, "up");
    assert.deepEqual(detail.container.networks, [{ name: "shop_default", address: endpoint.IPAddress, mac: endpoint.MacAddress }]);
    assert.match(endpoint.IPAddress, /^10\.251\./);
    assert.deepEqual([detail.container.parent.name, detail.container.name, detail.container.containerId, detail.container.engine, detail.container.ports], ["docker01", "shop-web-1", inspect.Id, "docker", ["80/tcp"]]);
    assert.deepEqual(detail.addresses, [endpoint.IPAddress]);
    assert.equal(detail.container.labels["com.docker.compose.project"], "shop");
    assert.equal(detail.container.stale, false);

    await eventually(async () => events.filter((e) => e.change === "added").length === 3, () => `three added events in ${JSON.stringify(events)}`);
    const added = events.find((e) => e.name === "shop-web-1")!;
    assert.deepEqual([added.kind, added.parent, added.source, added.node, added.status, added.image, added.client, added.site], ["container", "docker01", "agent", "docker01", "running", BUSYBOX_IMAGE, "lab", "docker"]);
    assert.deepEqual(added.tags, ["compose.project=shop", "compose.service=web"]);
    assert.deepEqual([added.addresses, added.macs], [[endpoint.IPAddress], [endpoint.MacAddress]]);
  });

  test("the map draws them inside docker01's box, a Compose project's containers together", async () => {
    const graph = await bed.netmap(["graph", "--format", "dot"]);
    assert.equal(graph.code, 0, graph.stderr);
    const dot = graph.stdout;
    // docker01's box opens before its containers and closes after them; the project's box holds its two.
    const box = dot.slice(dot.indexOf('tooltip="docker01 and its guests"'));
    const project = box.slice(box.indexOf('label="compose: shop"'));
    const projectEnd = project.indexOf("\n      }");
    for (const name of ["shop-web-1", "shop-db-1"]) assert.ok(project.indexOf(`label="${name}\\n`) < projectEnd && project.indexOf(`label="${name}\\n`) > 0, `${name} in the compose box:\n${dot}`);
    assert.ok(box.includes('label="scratch\\nrunning"'), dot);
    assert.ok(!project.slice(0, projectEnd).includes("scratch"), "scratch is not in the project");
    assert.match(dot, /shape=component/);
  });

  test("an unchanged listing writes nothing; a removed container is gone after a complete listing", async () => {
    const before = events.length;
    await report();
    const client = new pg.Client({ connectionString: bed.database.url });
    await client.connect();
    const synced = async () => (await client.query<{ synced_at: Date }>("SELECT synced_at FROM container_engines")).rows[0]!.synced_at.getTime();
    const at = await synced();
    await report();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await synced(), at, "same listing: container_engines untouched");
    assert.equal(events.length, before, "no event");
    await client.end();

    assert.equal((await dockerd.api("DELETE", "/containers/scratch?force=true")).status, 204);
    await report();
    await eventually(async () => events.some((e) => e.change === "removed" && e.name === "scratch"), () => `scratch removed in ${JSON.stringify(events)}`, 30_000);
    const scratch = (await hostsOf()).find((h) => h.name === "scratch");
    assert.equal(scratch.status, "down", "kept as a host, down, like a Proxmox guest gone");
    assert.ok((await bed.collector.get(`/api/v1/hosts/${scratch.id}`)).body.host.container.goneAt);
  });

  test("containers listed before their host was placed follow it into its site when a person places it", async () => {
    const LATE = "containers-late";
    const { stdout } = await run(process.execPath, [AGENT, "--once", "--json", "--agent-id", LATE], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: dockerd.socket } });
    const late = HostReport.fromJSON(JSON.parse(stdout));
    const send = async () => {
      late.seq = seq++;
      late.collectedAt = new Date();
      await nc.publish(reportSubject(LATE), encodeReport(late));
    };
    const unassigned = async () => ((await bed.collector.get("/api/v1/topology")).body.topology.clients.find((c: { name: string }) => c.name === "unassigned")?.sites[0]?.hosts ?? []) as any[];
    await send();
    await eventually(async () => (await unassigned()).filter((h) => h.kind === "container").length === 2, "two containers under unassigned", 30_000);
    const before = (await unassigned()).filter((h) => h.kind === "container");
    assert.deepEqual(before.map((h) => h.parent), [late.hostname, late.hostname]);

    const file = join(bed.dir, "late.yaml");
    writeFileSync(file, `clients:\n  - name: lab\n    sites:\n      - name: docker\n        hosts:\n          - name: late01\n            address: 127.0.0.2\n            agent_id: ${LATE}\n`);
    const imported = await bed.netmap(["import", file]);
    assert.equal(imported.code, 0, imported.stderr);
    await send();
    let placed: any[] = [];
    await eventually(async () => (placed = (await hostsOf()).filter((h) => h.parent === "late01")).length === 2, () => `two containers under late01 in ${JSON.stringify(placed)}`, 30_000);
    assert.deepEqual(placed.map((h) => h.name).sort(), ["shop-db-1-late01", "shop-web-1-late01"], "docker01's containers have those names in the site");
    assert.deepEqual(placed.map((h) => h.id).sort(), before.map((h) => h.id).sort(), "the same hosts, moved");
    assert.deepEqual((await unassigned()).filter((h) => h.kind === "container"), [], "none left behind");
  });

  test("a stopped daemon keeps the containers, stale, rather than deleting them", async () => {
    await dockerd.api("DELETE", "/containers/shop-web-1?force=true");
    await dockerd.api("DELETE", "/containers/shop-db-1?force=true");
    await dockerd.api("DELETE", "/networks/shop_default");
    // Re-created, so the listing before the stop has them running.
    await container("shop-web-1", { Cmd: ["/bin/sleep", "1000"], Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web" } });
    await report();
    await eventually(async () => (await hostsOf()).find((h) => h.name === "shop-web-1")?.status === "up", "shop-web-1 up again");
    const socket = dockerd.socket;
    await dockerd.stop();
    // The agent's configured socket no longer answers: its report says the listing failed.
    const { stdout } = await run(process.execPath, [AGENT, "--once", "--json", "--agent-id", AGENT_ID], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: socket } });
    const failed = HostReport.fromJSON(JSON.parse(stdout));
    assert.equal(failed.containerEngine, undefined);
    assert.equal(failed.collectors.find((c) => c.name === "containers")?.success, false);
    failed.seq = seq++;
    failed.collectedAt = new Date();
    await nc.publish(reportSubject(AGENT_ID), encodeReport(failed));

    let hosts: any[] = [];
    await eventually(async () => (hosts = await hostsOf()).find((h) => h.name === "shop-web-1")?.status === "stale", () => `shop-web-1 stale in ${JSON.stringify(hosts)}`, 30_000);
    const web = hosts.find((h) => h.name === "shop-web-1");
    const detail = (await bed.collector.get(`/api/v1/hosts/${web.id}`)).body.host.container;
    assert.deepEqual([detail.stale, detail.goneAt, detail.state], [true, null, "running"]);
    assert.match(detail.staleReason, /container engine did not answer/);
    await eventually(async () => events.some((e) => e.change === "changed" && e.name === "shop-web-1" && e.stale && e.changed.includes("stale")), "a stale event");
    assert.equal(events.filter((e) => e.change === "removed" && e.name === "shop-web-1").length, 0, "not removed");
  });
});
