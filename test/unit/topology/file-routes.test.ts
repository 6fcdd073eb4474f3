import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { formatTopologyFile, parseTopologyFile } from "../../../collector/src/topology/file.ts";
import type { Topology } from "../../../collector/src/topology/model.ts";
import { topologyProblems } from "../../../collector/src/topology/validate.ts";
import { formatHop, routeTo } from "../../../collector/src/topology/routes.ts";

const FIXTURE = readFileSync(new URL("../../fixtures/topology/two-clients.yaml", import.meta.url), "utf8");

function topologyError(text: string): string {
  try {
    parseTopologyFile(text, "t.yaml");
  } catch (error) {
    assert.equal((error as { code?: string }).code, "TOPOLOGY_INVALID");
    return (error as Error).message;
  }
  assert.fail("expected the file to be refused");
}

const site = (hosts: string) => `clients:\n  - name: acme\n    sites:\n      - name: dc1\n        hosts:\n${hosts}`;

describe("topology file", () => {
  test("reads clients, sites, hosts and guests under their hypervisor, with defaults", () => {
    const topology = parseTopologyFile(FIXTURE);
    const dc1 = topology.clients[0]!.sites[0]!;
    assert.equal(dc1.bastion, "gw1");
    assert.deepEqual(dc1.hosts.map((h) => h.name), ["gw1", "gw2", "pve1", "web01", "db01"]);
    const web01 = dc1.hosts.find((h) => h.name === "web01")!;
    assert.deepEqual(web01, {
      name: "web01", kind: "vm", address: "10.0.1.5", ssh: { user: null, port: 22 }, via: null, parent: "pve1", labels: {}, source: "person",
    });
    assert.equal(dc1.hosts.find((h) => h.name === "db01")!.kind, "container");
    assert.equal(dc1.hosts.find((h) => h.name === "pve1")!.labels.rack, "r12");
  });

  test("export then import gives back the same topology, and the same file", () => {
    const topology = parseTopologyFile(FIXTURE);
    const exported = formatTopologyFile(topology);
    assert.deepEqual(parseTopologyFile(exported), topology);
    assert.equal(exported, FIXTURE);
  });

  test("refuses an unknown via and names the host", () => {
    const message = topologyError(site("          - name: web01\n            address: 10.0.0.5\n            via: gw9\n"));
    assert.match(message, /acme\/dc1\/web01: via "gw9" is not a host of acme\/dc1/);
  });

  test("refuses a via cycle and names the hosts", () => {
    const message = topologyError(
      site("          - name: a\n            address: 10.0.0.1\n            via: b\n          - name: b\n            address: 10.0.0.2\n            via: a\n"),
    );
    assert.match(message, /the SSH hops form a cycle: (a → b → a|b → a → b)/);
  });

  test("reports every problem at once, one a line, each cycle once, whatever else is wrong", () => {
    const message = topologyError(
      site(
        "          - name: a\n            address: 10.0.0.1\n            via: b\n          - name: b\n            address: 10.0.0.2\n            via: c\n" +
          "          - name: c\n            address: 10.0.0.3\n            via: a\n          - name: d\n            via: gw9\n" +
          "          - name: e\n            address: not an address\n",
      ),
    );
    const lines = message.split("\n");
    assert.equal(lines[0], "t.yaml: 3 problems, nothing imported:");
    assert.deepEqual(lines.slice(1).map((line) => line.replace(/^ {2}host /, "")).sort(), [
      "acme/dc1/a: the SSH hops form a cycle: a → b → c → a",
      "acme/dc1/d: via \"gw9\" is not a host of acme/dc1",
      "acme/dc1/e: address \"not an address\" is not an IP address or DNS name",
    ]);
  });

  test("a hypervisor loop (a merged topology's, never a file's nesting) is reported once, not once per host on it", () => {
    const host = (name: string, parent: string) => ({ name, kind: "vm" as const, address: "10.0.0.1", ssh: { user: null, port: 22 }, via: null, parent, labels: {}, source: "person" as const });
    const topology: Topology = { clients: [{ name: "acme", sites: [{ name: "dc1", bastion: null, hosts: [host("a", "b"), host("b", "c"), host("c", "a")] }] }] };
    // Without a via, the hypervisor is the SSH hop: the same loop is a route loop, said once too.
    assert.deepEqual(topologyProblems(topology), ["host acme/dc1/a: is its own hypervisor: a → b → c → a", "host acme/dc1/a: the SSH hops form a cycle: a → b → c → a"]);
  });

  test("an empty file, or YAML that is not a topology, is a clear error", () => {
    assert.equal(topologyError(""), 't.yaml is empty: a topology file starts with "clients:" (docs/topology.md)');
    assert.equal(topologyError("# nothing yet\n"), 't.yaml is empty: a topology file starts with "clients:" (docs/topology.md)');
    assert.equal(topologyError("hello: world\n"), 't.yaml is not a topology file: it has no "clients:" at the top (docs/topology.md)');
    assert.equal(topologyError("- a\n- b\n"), 't.yaml is not a topology file: it has no "clients:" at the top (docs/topology.md)');
    assert.match(topologyError("clients: [\n"), /^t\.yaml: not valid YAML: /);
  });

  test("refuses a duplicate name in a site and names it", () => {
    const message = topologyError(site("          - name: a\n            address: 10.0.0.1\n          - name: a\n            address: 10.0.0.2\n"));
    assert.match(message, /host acme\/dc1\/a: declared twice in the site/);
  });

  test("refuses a hop without an address and names it", () => {
    const message = topologyError(site("          - name: gw\n          - name: web\n            address: 10.0.0.2\n            via: gw\n"));
    assert.match(message, /host acme\/dc1\/gw: has no address, but web is reached through it/);
  });

  test("refuses unknown keys and bad kinds, naming the host", () => {
    const message = topologyError(site("          - name: a\n            adress: 10.0.0.1\n          - name: b\n            kind: toaster\n"));
    assert.match(message, /acme\/dc1\/a: unknown key adress/);
    assert.match(message, /acme\/dc1\/b: kind/);
  });

  test("refuses addresses and users that are not one, naming the host", () => {
    const message = topologyError(
      site(
        "          - name: c\n            address: '-oProxyCommand=x'\n          - name: d\n            address: 10.0.0.4\n            ssh: { user: 'root;id' }\n",
      ),
    );
    assert.match(message, /acme\/dc1\/c: address "-oProxyCommand=x" is not an IP address or DNS name/);
    assert.match(message, /acme\/dc1\/d: ssh user "root;id" is not a valid login name/);
  });
});

describe("routes", () => {
  const topology = parseTopologyFile(FIXTURE);

  test("go through the via chain, the site bastion and the hypervisor", () => {
    assert.deepEqual(routeTo(topology, "web01").map((h) => h.name), ["gw1", "gw2", "pve1", "web01"]);
    assert.deepEqual(routeTo(topology, "acme/paris-dc1/gw1").map((h) => h.name), ["gw1"]);
    assert.deepEqual(routeTo(topology, "app").map(formatHop), ["ops@[2001:db8::10]:2200", "app.fra.globex.example"]);
    assert.deepEqual(routeTo(topology, "db01").map(formatHop), ["admin@203.0.113.10", "10.0.0.1:2222", "10.0.0.2", "postgres@10.0.1.6"]);
  });

  test("a name two sites use is ambiguous; a qualified one is not", () => {
    assert.throws(() => routeTo(topology, "gw1"), { code: "HOST_AMBIGUOUS", message: /acme\/paris-dc1\/gw1, acme\/lyon\/gw1/ });
    assert.deepEqual(routeTo(topology, "lyon/gw1").map((h) => h.address), ["198.51.100.7"]);
    assert.throws(() => routeTo(topology, "nope"), { code: "NOT_FOUND" });
  });

  test("report a cycle, an unknown hop and a host without address, with their names", () => {
    const broken = structuredClone(topology);
    const hosts = broken.clients[0]!.sites[0]!.hosts;
    hosts.find((h) => h.name === "gw1")!.via = "pve1";
    assert.throws(() => routeTo(broken, "web01"), { code: "ROUTE_CYCLE", message: /the hops form a cycle: pve1 → gw2 → gw1 → pve1/ });
    hosts.find((h) => h.name === "gw1")!.via = "gw9";
    assert.throws(() => routeTo(broken, "web01"), { code: "ROUTE_UNKNOWN_HOP", message: /gw1 goes through "gw9", which is not a host of acme\/paris-dc1/ });
    hosts.find((h) => h.name === "gw1")!.via = null;
    hosts.find((h) => h.name === "gw2")!.address = null;
    assert.throws(() => routeTo(broken, "web01"), { code: "ROUTE_NO_ADDRESS", message: /route to acme\/paris-dc1\/web01: hop gw2 has no address/ });
  });
});

describe("topology file export with hostile names", () => {
  const HOSTILE = ['evil\nMatch exec "x"\nHost zz', "key: value\n- item", "# comment", "csi\u009b31m nel\u0085 del\x7f esc\x1b[2J", "  spaced  ", "lone\ud800", "'quoted' \"double\"", "&anchor *alias !tag"];

  test("every name, address and label reads back exactly, as one scalar, and no DEL or C1 is written raw", () => {
    const topology: Topology = {
      clients: [{
        name: HOSTILE[0]!,
        sites: [{
          name: HOSTILE[1]!,
          bastion: HOSTILE[2]!,
          hosts: HOSTILE.map((name) => ({ name, kind: "server" as const, address: name, ssh: { user: name, port: 22 }, via: name, parent: null, labels: { [name]: name }, source: "agent" as const })),
        }],
      }],
    };
    const yaml = formatTopologyFile(topology);
    assert.doesNotMatch(yaml, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const file = parseYaml(yaml);
    assert.equal(file.clients[0].name, HOSTILE[0]);
    assert.equal(file.clients[0].sites[0].bastion, HOSTILE[2]);
    assert.deepEqual(
      file.clients[0].sites[0].hosts,
      HOSTILE.map((name) => ({ name, address: name, ssh: { user: name }, via: name, labels: { [name]: name } })),
    );
  });
});

test("parseTopologyFile - refuses a YAML alias without its anchor, or one expanding too far, as TOPOLOGY_INVALID", () => {
  assert.throws(() => parseTopologyFile("clients:\n  - name: *nowhere\n"), { code: "TOPOLOGY_INVALID", message: /not valid YAML: .*alias/i });
  const laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
  assert.throws(() => parseTopologyFile(laughs), { code: "TOPOLOGY_INVALID", message: /not valid YAML/ });
});
