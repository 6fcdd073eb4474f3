import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../../collector/src/config.ts";
import type { Db } from "../../../collector/src/db/database.ts";
import { buildApp } from "../../../collector/src/http/app.ts";
import { ansibleGroupName, ansibleInventory, jumpSpec, type LocatedHost } from "../../../collector/src/topology/inventory.ts";
import type { Hop, Topology, TopologyHost } from "../../../collector/src/topology/model.ts";
import { twoClients } from "../../fixtures/topology/two-clients.ts";

const EXPECTED = new URL("../../fixtures/topology/two-clients.inventory.json", import.meta.url);
const REFRESH = process.env.NETMAP_REFRESH_FIXTURES === "1";

// Debian's ansible-core (.ci/run installs it): the reference the inventory must satisfy.

/**
 * The SSH chain as DESIGN.md defines it (via, else parent, else the site's bastion), walked
 * here so these tests stand apart from routes.ts; the collector passes its own.
 */
function chainOf({ site, host }: LocatedHost): Hop[] {
  const chain: TopologyHost[] = [];
  for (let h: TopologyHost | undefined = host; h; ) {
    if (chain.includes(h)) throw new Error(`the hops to ${host.name} form a cycle: ${[...chain, h].map((x) => x.name).join(" → ")}`);
    chain.push(h);
    const next: string | null = h.via ?? h.parent ?? (site.bastion !== h.name ? site.bastion : null);
    if (next === null) break;
    h = site.hosts.find((x) => x.name === next);
    if (!h) throw new Error(`${chain.at(-1)!.name} goes through unknown host ${next}`);
  }
  return chain.reverse().map((h) => {
    if (h.address === null) throw new Error(`${h.name} has no address`);
    return { client: "", site: site.name, name: h.name, address: h.address, port: h.ssh.port, user: h.ssh.user, alias: `c.${site.name}.${h.name}` };
  });
}

function host(name: string, extra: Partial<TopologyHost> = {}): TopologyHost {
  return { name, kind: "server", address: "192.0.2.1", ssh: { user: "root", port: 22 }, via: null, parent: null, labels: {}, source: "person", ...extra };
}

function hostileTopology(): Topology {
  return {
    clients: [
      {
        name: 'say "hi" \\ node',
        sites: [
          {
            name: "東京 dc",
            bastion: "graph",
            hosts: [
              host("graph", { address: "203.0.113.1" }),
              host("it's \"quoted\"", { address: "2001:db8::5", ssh: { user: null, port: 2222 } }),
              host("ünïcode 🚀", { kind: "vm", parent: "it's \"quoted\"" }),
              host("evil", { ssh: { user: "root -oProxyCommand=touch${IFS}/tmp/x", port: 22 } }),
              host("a", { via: "b" }),
              host("b", { via: "a" }),
            ],
          },
        ],
      },
      { name: "say-'hi'-\\-node", sites: [{ name: "東京 dc", bastion: null, hosts: [host("line\nbreak", { kind: "network", address: "sw.example" })] }] },
    ],
  };
}

function runAnsibleInventory(inventory: unknown): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "netmap-ansible-"));
  try {
    writeFileSync(join(dir, "inventory.json"), JSON.stringify(inventory));
    const script = join(dir, "netmap-inventory");
    writeFileSync(script, '#!/bin/sh\nif [ "$1" = --host ]; then echo "{}"; else cat "$(dirname "$0")/inventory.json"; fi\n');
    chmodSync(script, 0o755);
    const result = spawnSync("ansible-inventory", ["-i", script, "--list"], {
      encoding: "utf8",
      env: { ...process.env, HOME: dir, ANSIBLE_HOME: join(dir, ".ansible"), ANSIBLE_INVENTORY_UNPARSED_FAILED: "true", ANSIBLE_INVENTORY_ENABLED: "script", ANSIBLE_NOCOLOR: "1" },
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("ansible inventory", () => {
  test("ansibleInventory - groups per client, site and kind for the two-client fixture", () => {
    const inventory = ansibleInventory(twoClients(), chainOf);
    assert.deepEqual(inventory.all, { children: ["client_acme", "client_globex", "kind_server", "kind_hypervisor", "kind_vm", "kind_container", "unreachable"] });
    assert.deepEqual(inventory.client_acme, { children: ["site_acme_paris_dc1", "site_acme_lyon_2"] });
    assert.deepEqual(inventory.client_globex, { children: ["site_globex_fra1"] });
    assert.deepEqual(inventory.site_acme_paris_dc1, { hosts: ["gw1", "gw2", "pve1", "acme/paris-dc1/web01", "db01"] });
    assert.deepEqual(inventory.site_acme_lyon_2, { hosts: ["office-nas"] });
    assert.deepEqual(inventory.site_globex_fra1, { hosts: ["edge", "app1", "globex/fra1/web01"] });
    assert.deepEqual(inventory.kind_server, { hosts: ["gw1", "gw2", "office-nas", "edge", "app1", "globex/fra1/web01"] });
    assert.deepEqual(inventory.kind_hypervisor, { hosts: ["pve1"] });
    assert.deepEqual(inventory.kind_vm, { hosts: ["acme/paris-dc1/web01"] });
    assert.deepEqual(inventory.kind_container, { hosts: ["db01"] });
    assert.deepEqual(inventory.unreachable, { hosts: ["sw-core"] });
    assert.equal(inventory.kind_network, undefined, "sw-core, the only network host, has no route");
  });

  test("ansibleInventory - ProxyJump through the two bastions, then the hypervisor for its guests", () => {
    const { hostvars } = ansibleInventory(twoClients(), chainOf)._meta;
    const args = Object.fromEntries(Object.entries(hostvars).map(([name, vars]) => [name, vars.ansible_ssh_common_args]));
    assert.deepEqual(args, {
      gw1: undefined,
      gw2: "-o ProxyJump=admin@203.0.113.10:22",
      pve1: "-o ProxyJump=admin@203.0.113.10:22,jump@10.0.0.1:2222",
      "acme/paris-dc1/web01": "-o ProxyJump=admin@203.0.113.10:22,jump@10.0.0.1:2222,root@10.0.1.2:22",
      db01: "-o ProxyJump=admin@203.0.113.10:22,jump@10.0.0.1:2222,root@10.0.1.2:22",
      "sw-core": undefined,
      "office-nas": undefined,
      edge: undefined,
      app1: "-o ProxyJump=ops@198.51.100.7:22",
      "globex/fra1/web01": "-o ProxyJump=ops@198.51.100.7:22,172.16.0.11:22",
    });
    assert.deepEqual(hostvars["acme/paris-dc1/web01"], {
      netmap_client: "acme",
      netmap_site: "paris-dc1",
      netmap_name: "web01",
      netmap_slug: "web01",
      netmap_kind: "vm",
      ansible_host: "10.0.1.5",
      ansible_user: "deploy",
      ansible_port: 22,
      ansible_ssh_common_args: "-o ProxyJump=admin@203.0.113.10:22,jump@10.0.0.1:2222,root@10.0.1.2:22",
    });
    assert.equal(hostvars.app1!.ansible_user, undefined, "no user: Ansible's default applies");
    assert.equal(hostvars["office-nas"]!.ansible_port, 2200);
  });

  test("ansibleInventory - the whole inventory matches the recorded one", () => {
    const actual = `${JSON.stringify(ansibleInventory(twoClients(), chainOf), null, 2)}\n`;
    if (REFRESH) writeFileSync(EXPECTED, actual);
    assert.equal(actual, readFileSync(EXPECTED, "utf8"), "NETMAP_REFRESH_FIXTURES=1 rewrites the recorded inventory");
  });

  test("ansibleInventory - a host without a route is only in `unreachable`, with the reason", () => {
    const inventory = ansibleInventory(hostileTopology(), chainOf);
    const { hostvars } = inventory._meta;
    assert.deepEqual(inventory.unreachable, { hosts: ["evil", "a", "b"] });
    assert.match(String(hostvars.evil!.netmap_route_error), /hop evil has a user OpenSSH cannot take literally/);
    assert.match(String(hostvars.a!.netmap_route_error), /cycle: a → b → a/);
    assert.equal(hostvars.evil!.ansible_host, undefined, "never a half-usable connection");
    for (const [name, group] of Object.entries(inventory)) {
      if (name === "_meta" || name === "unreachable" || !("hosts" in group)) continue;
      for (const bad of ["evil", "a", "b"]) assert.ok(!group.hosts!.includes(bad), `${bad} in ${name}`);
    }
    const sw = ansibleInventory(twoClients(), chainOf)._meta.hostvars["sw-core"]!;
    assert.equal(sw.netmap_route_error, "sw-core has no address");
  });

  test("ansibleInventory - a chain function that throws anything never breaks the inventory", () => {
    const inventory = ansibleInventory(twoClients(), () => {
      throw "not even an Error";
    });
    assert.equal((inventory.unreachable as { hosts: string[] }).hosts.length, 10);
    assert.deepEqual(inventory.all, { children: ["client_acme", "client_globex", "unreachable"] });
    const empty = ansibleInventory(twoClients(), () => []);
    assert.equal(empty._meta.hostvars.gw1!.netmap_route_error, "no route to gw1");
  });

  test("ansibleGroupName - keeps [A-Za-z0-9_] and replaces every other character", () => {
    assert.equal(ansibleGroupName("site", "acme", "paris-dc1"), "site_acme_paris_dc1");
    assert.equal(ansibleGroupName("client", "9 Lives Ltd."), "client_9_Lives_Ltd_");
    assert.equal(ansibleGroupName("client", "東京"), "client___");
  });

  test("ansibleInventory - groups are named from slugs; slugs that sanitize alike get _2, in topology order", () => {
    const inventory = ansibleInventory(hostileTopology(), chainOf);
    assert.deepEqual(inventory.all, { children: ["client_say_hi_node", "client_say_hi_node_2", "kind_server", "kind_vm", "kind_network", "unreachable"] });
    assert.deepEqual(inventory.client_say_hi_node, { children: ["site_say_hi_node_dc"] });
    assert.deepEqual(inventory.client_say_hi_node_2, { children: ["site_say_hi_node_dc_2"] });
    for (const name of Object.keys(inventory)) if (name !== "_meta") assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  test("jumpSpec - user@address:port, IPv6 in brackets, no user when unknown", () => {
    assert.equal(jumpSpec({ client: "c", site: "s", name: "h", address: "2001:db8::5", port: 2222, user: null, alias: "c.s.h" }), "[2001:db8::5]:2222");
    assert.equal(jumpSpec({ client: "c", site: "s", name: "h", address: "gw.example", port: 22, user: "ops", alias: "c.s.h" }), "ops@gw.example:22");
  });

  test("ansible-inventory --list accepts the JSON, groups and ProxyJump intact", () => {
    const inventory = ansibleInventory(twoClients(), chainOf);
    const result = runAnsibleInventory(inventory);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /WARNING|ERROR/, result.stderr);
    const listed = JSON.parse(result.stdout);
    assert.deepEqual(listed.all.children.toSorted(), ["client_acme", "client_globex", "kind_container", "kind_hypervisor", "kind_server", "kind_vm", "unreachable", "ungrouped"].toSorted());
    assert.deepEqual(listed.site_acme_paris_dc1.hosts, ["gw1", "gw2", "pve1", "acme/paris-dc1/web01", "db01"]);
    assert.equal(listed._meta.hostvars["acme/paris-dc1/web01"].ansible_ssh_common_args, "-o ProxyJump=admin@203.0.113.10:22,jump@10.0.0.1:2222,root@10.0.1.2:22");
    assert.equal(listed._meta.hostvars["globex/fra1/web01"].ansible_host, "2001:db8::11");
    assert.equal(listed._meta.hostvars["sw-core"].netmap_route_error, "sw-core has no address");
  });

  test("ansible-inventory --list accepts hostile names too: hosts are listed by slug, the name kept in hostvars", () => {
    const result = runAnsibleInventory(ansibleInventory(hostileTopology(), chainOf));
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /WARNING|ERROR/, result.stderr);
    const listed = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(listed._meta.hostvars).toSorted(), ["graph", "it-s-quoted", "unicode", "evil", "a", "b", "line-break"].toSorted());
    assert.equal(listed._meta.hostvars.unicode.ansible_ssh_common_args, "-o ProxyJump=root@203.0.113.1:22,[2001:db8::5]:2222");
    assert.equal(listed._meta.hostvars.unicode.netmap_name, "ünïcode 🚀");
    assert.equal(listed._meta.hostvars["line-break"].netmap_name, "line\nbreak");
  });
});

describe("GET /api/v1/inventory/ansible", () => {
  test("serves the inventory with the collector's routes, the recorded one for the fixture", async () => {
    // No route touches the database; buildApp never connects.
    const server = await buildApp(
      { config: loadCollectorConfig({ env: {}, configFlag: undefined }), db: {} as Db, registry: new Registry(), natsConnected: () => true, token: "inventory-token", loadTopology: async () => twoClients() },
      pino({ level: "silent" }),
    );
    const response = await server.inject({ method: "GET", url: "/api/v1/inventory/ansible", headers: { authorization: "Bearer inventory-token" } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    const served = response.json();
    const recorded = JSON.parse(readFileSync(EXPECTED, "utf8"));
    // routes.ts words its errors its own way; everything else is the same inventory.
    assert.match(served._meta.hostvars["sw-core"].netmap_route_error, /sw-core has no address/);
    served._meta.hostvars["sw-core"].netmap_route_error = recorded._meta.hostvars["sw-core"].netmap_route_error;
    assert.deepEqual(served, recorded);
    await server.close();
  });
});
