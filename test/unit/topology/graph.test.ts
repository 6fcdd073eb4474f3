import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../../collector/src/config.ts";
import type { Db } from "../../../collector/src/db/database.ts";
import { buildApp } from "../../../collector/src/http/app.ts";
import { previousHop, renderSvg, sshCommand, topologyToDot } from "../../../collector/src/topology/graph.ts";
import { dotString } from "../../../collector/src/text/escape.ts";
import type { Topology, TopologyHost } from "../../../collector/src/topology/model.ts";
import { twoClientsMonitored } from "../../fixtures/topology/two-clients.ts";

// Debian's graphviz package (.ci/run installs it): the reference the DOT must satisfy.
function dotToSvg(dot: string): string {
  const result = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" });
  assert.ok(!result.error, "graphviz's dot is not installed: apt-get install graphviz");
  assert.equal(result.status, 0, `dot refused the graph: ${result.stderr}`);
  assert.equal(result.stderr, "", "dot warned");
  return result.stdout;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function xmlText(raw: string): string {
  return raw.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (_, ref: string) =>
    ref[0] === "#" ? String.fromCodePoint(ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : Number(ref.slice(1))) : ENTITIES[ref]!,
  );
}

/** The text of every <text> element of an SVG, decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => xmlText(m[1]!));
}

function host(name: string, extra: Partial<TopologyHost> = {}): TopologyHost {
  return { name, kind: "server", address: "192.0.2.1", ssh: { user: "root", port: 22 }, via: null, parent: null, labels: {}, source: "person", ...extra };
}

const HOSTILE = [
  'say "hi"',
  "back\\slash\\",
  "trailing\\",
  "東京-ü-Ωmega 🚀",
  "node",
  "graph",
  "subgraph",
  "edge",
  "strict",
  "digraph",
  "line\nbreak",
  "esc\x1b[2J c1\u009b31m del\x7f nul\0",
  "&amp; <b>bold</b> &#65;",
  "} ]; n1 -> n2 [",
  "\\N \\G \\l",
  "--",
  "",
];

function hostileTopology(): Topology {
  const [first, ...rest] = HOSTILE;
  return {
    clients: [
      {
        name: "strict",
        sites: [
          {
            name: "graph",
            bastion: first!,
            hosts: [
              host(first!, { id: 1, status: "up" }),
              host("subgraph", { kind: "hypervisor", via: first!, status: "stale", id: 2 }),
              ...rest.filter((name) => name !== "subgraph").map((name, i) => host(name, i % 2 ? { parent: "subgraph", kind: "vm", status: "down" } : {})),
            ],
          },
        ],
      },
      { name: 'client "two" \\ node', sites: [{ name: "line\nsite", bastion: null, hosts: [host("edge", { kind: "network", address: null })] }] },
    ],
  };
}

/** Names as a label shows them: C0 and DEL as their control pictures, C1 as its escape. */
const shown = (name: string) =>
  name.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? "\u2421" : `\\u00${code.toString(16)}`;
  });

describe("topology graph", () => {
  test("dotString - quotes, backslashes and entities come out literal", () => {
    assert.equal(dotString('a "b" \\c & d'), '"a \\"b\\" \\\\c &amp; d"');
    assert.equal(dotString("one\ntwo"), '"one\u240atwo"');
    assert.equal(dotString("csi\u009b31m del\x7f"), '"csi\\\\u009b31m del\u2421"', "C1 and DEL are never written raw");
  });

  test("topologyToDot - never writes a name as an id: nodes are n1…, clusters cluster_…", () => {
    const dot = topologyToDot(hostileTopology());
    for (const line of dot.split("\n")) {
      const statement = line.trim();
      if (statement === "" || statement === "}" || statement === "digraph netmap {") continue;
      assert.match(statement, /^(graph|node|edge) \[|^subgraph cluster_[csh][0-9]+ \{$|^n[0-9]+( -> n[0-9]+)? \[/, `unexpected statement: ${statement}`);
    }
  });

  test("topologyToDot - hostile names give DOT that Debian's dot renders, every name as text", () => {
    const svg = dotToSvg(topologyToDot(hostileTopology()));
    const texts = svgTexts(svg);
    for (const name of [...HOSTILE, "strict", "graph", 'client "two" \\ node', "line\nsite"]) {
      assert.ok(texts.includes(shown(name)) || name === "", `${JSON.stringify(name)} is not a text of the SVG: ${JSON.stringify(texts)}`);
    }
  });

  test("renderSvg - the WebAssembly Graphviz renders the hostile names too, every name as text", async () => {
    const svg = await renderSvg(topologyToDot(hostileTopology(), { theme: "dark" }));
    assert.match(svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
    const texts = svgTexts(svg);
    for (const name of HOSTILE.filter(Boolean)) assert.ok(texts.includes(shown(name)), `${JSON.stringify(name)} missing from ${JSON.stringify(texts)}`);
    assert.doesNotMatch(svg, /<script/i);
  });

  test("topologyToDot - a cluster per client and per site, hypervisors as clusters holding their guests", () => {
    const dot = topologyToDot(twoClientsMonitored());
    const clusters = [...dot.matchAll(/subgraph (cluster_[csh][0-9]+) \{\n\s*graph \[label=("[^"]*")/g)].map((m) => `${m[1]!.replace(/[0-9]+$/, "")} ${m[2]}`);
    assert.deepEqual(clusters, [
      'cluster_c "acme"',
      'cluster_s "paris-dc1"',
      'cluster_h ""',
      'cluster_s "lyon-2"',
      'cluster_c "globex"',
      'cluster_s "fra1"',
    ]);
    // pve1's cluster holds pve1, web01 and db01 and nothing else.
    const pveCluster = /subgraph cluster_h[0-9]+ \{\n([\s\S]*?)\n\s*\}/.exec(dot)![1]!;
    assert.deepEqual([...pveCluster.matchAll(/label="([^"\\]*)\\n/g)].map((m) => m[1]), ["pve1", "web01", "db01"]);
  });

  test("topologyToDot - SSH hops are dashed edges from the previous hop: via, else the hypervisor, else the site bastion", () => {
    const dot = topologyToDot(twoClientsMonitored());
    const idOf = new Map<string, string[]>();
    for (const m of dot.matchAll(/^\s*(n[0-9]+) \[label="([^"\\]*)\\n/gm)) idOf.set(m[2]!, [...(idOf.get(m[2]!) ?? []), m[1]!]);
    const nameOf = new Map([...idOf].flatMap(([name, ids]) => ids.map((id, i) => [id, ids.length > 1 ? `${name}#${i + 1}` : name] as const)));
    const edges = [...dot.matchAll(/^\s*(n[0-9]+) -> (n[0-9]+) /gm)].map((m) => `${nameOf.get(m[1]!)} -> ${nameOf.get(m[2]!)}`);
    assert.deepEqual(edges, [
      "gw1 -> gw2",
      "gw2 -> pve1",
      "pve1 -> web01#1",
      "pve1 -> db01",
      "gw1 -> sw-core",
      "edge -> app1",
      "app1 -> web01#2",
    ]);
    assert.match(dot, /^\s*edge \[style=dashed/m);
  });

  test("previousHop - a site's bastion is not its own previous hop", () => {
    const site = { name: "s", bastion: "gw", hosts: [] };
    assert.equal(previousHop(site, host("gw")), null);
    assert.equal(previousHop(site, host("a")), "gw");
    assert.equal(previousHop(site, host("b", { parent: "pve" })), "pve");
    assert.equal(previousHop(site, host("c", { via: "x", parent: "pve" })), "x");
    assert.equal(previousHop({ ...site, bastion: null }, host("d")), null);
  });

  test("topologyToDot - status colours: up green, stale amber, down red, unknown grey", () => {
    const dot = topologyToDot(twoClientsMonitored());
    const colourOf = (name: string) => new RegExp(`label="${name}\\\\n[^"]*", fillcolor="[^"]*", color="([^"]*)"`).exec(dot)?.[1];
    assert.equal(colourOf("gw1"), "#2d8a35");
    assert.equal(colourOf("pve1"), "#b7791f");
    assert.equal(colourOf("db01"), "#2d8a35");
    assert.equal(colourOf("office-nas"), "#8c959f", "a host without status is unknown");
    assert.match(dot, /label="web01\\n10\.0\.1\.5", fillcolor="#fbdcdd", color="#cf222e"/);
  });

  test("topologyToDot - hosts with an id link to their details; hosts without have a tooltip only", () => {
    const dot = topologyToDot(twoClientsMonitored());
    assert.match(dot, /label="gw1\\n203\.0\.113\.10"[^\n]*tooltip="gw1 \(server\) — up\\nacme \/ paris-dc1\\nSSH admin@203\.0\.113\.10:22\\nnetmap ssh gw1", URL="\/#host=1", target="_top"\]/);
    assert.doesNotMatch(/label="app1[^\n]*/.exec(dot)![0], /URL=/);
    assert.match(topologyToDot(twoClientsMonitored(), { hostHref: (id) => `/hosts/${id}` }), /URL="\/hosts\/7"/);
  });

  test("topologyToDot - an empty topology still draws", async () => {
    const svg = await renderSvg(topologyToDot({ clients: [] }));
    assert.ok(svgTexts(svg).includes("No hosts in the topology yet"));
  });

  test("topologyToDot - a parent cycle or an unknown parent leaves hosts at site level, none lost", async () => {
    const topology: Topology = {
      clients: [{ name: "c", sites: [{ name: "s", bastion: null, hosts: [host("a", { parent: "b" }), host("b", { parent: "a" }), host("orphan", { parent: "ghost" })] }] }],
    };
    const texts = svgTexts(await renderSvg(topologyToDot(topology)));
    for (const name of ["a", "b", "orphan"]) assert.ok(texts.includes(name), name);
  });

  test("topologyToDot - a host's containers inside its box, a Compose project's in a box of its own, shown with image and state", () => {
    const container = (name: string, compose: { project: string; service: string | null } | null, state = "running"): TopologyHost =>
      host(name, { kind: "container", address: null, parent: "docker01", source: "agent", container: { image: "nginx:1.25", state, compose } });
    const topology: Topology = { clients: [{ name: "acme", sites: [{ name: "dc1", bastion: null, hosts: [
      host("docker01"), container("shop-web-1", { project: "shop", service: "web" }), container("solo", null, "exited"), container("shop-db-1", { project: "shop", service: "db" }),
      container("blog-1", { project: "blog", service: "wordpress" }),
    ] }] }] };
    const dot = topologyToDot(topology);
    dotToSvg(dot);
    // The text of the cluster whose attributes hold `marker`, braces matched.
    const box = (marker: string) => {
      const from = dot.lastIndexOf("subgraph", dot.indexOf(marker));
      let depth = 0;
      for (let i = dot.indexOf("{", from); ; i++) {
        if (dot[i] === "{") depth++;
        if (dot[i] === "}" && --depth === 0) return dot.slice(from, i);
      }
    };
    const names = (text: string) => [...text.matchAll(/label="([^"\\]*)\\n([^"]*)"/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(names(box('tooltip="docker01 and its guests"')), ["docker01 192.0.2.1", "solo exited", "blog-1 wordpress · running", "shop-web-1 web · running", "shop-db-1 db · running"]);
    assert.deepEqual(names(box('label="compose: shop"')), ["shop-web-1 web · running", "shop-db-1 db · running"]);
    assert.deepEqual(names(box('label="compose: blog"')), ["blog-1 wordpress · running"]);
    assert.equal([...dot.matchAll(/shape=component/g)].length, 4);
    assert.ok(dot.includes('tooltip="shop-web-1 (container) — unknown\\nnginx:1.25 — running (Compose shop/web)\\n'), "the tooltip says image, state and Compose service");
  });

  test("topologyToDot - collapsed, a host's containers are one node counting them, linking to the host; no edge names a folded one", () => {
    const container = (name: string, state: string, status: "up" | "down"): TopologyHost =>
      host(name, { id: name.length + 10, kind: "container", address: null, parent: "docker01", source: "agent", status, container: { image: "nginx", state, compose: null } });
    const topology: Topology = { clients: [{ name: "acme", sites: [{ name: "dc1", bastion: "gw", hosts: [
      host("gw"), host("docker01", { id: 1 }), container("a", "running", "up"), container("bb", "exited", "down"), container("ccc", "running", "up"),
    ] }] }] };
    const dot = topologyToDot(topology, { collapseContainers: true });
    dotToSvg(dot);
    assert.ok(dot.includes('label="3 containers\\n2 running"'), dot);
    assert.ok(dot.includes('URL="/#host=1"'));
    assert.ok(!/label="(a|bb|ccc)\\n/.test(dot), "no container drawn on its own");
    // Only the SSH edges of real nodes: gw → docker01.
    assert.equal([...dot.matchAll(/ -> /g)].length, 1, dot);
    const folded = /n\d+ \[label="3 containers[^\n]*/.exec(dot)![0];
    assert.match(folded, /fillcolor="#fbdcdd"/, "coloured as its worst: one is down");
    assert.equal(topologyToDot(topology).includes("3 containers"), false, "shown by default");
  });

  test("sshCommand - quotes a name the shell would split", () => {
    assert.equal(sshCommand("web01"), "netmap ssh web01");
    assert.equal(sshCommand("it's mine"), "netmap ssh 'it'\\''s mine'");
  });
});

describe("GET /api/v1/topology.svg", () => {
  // No route touches the database; buildApp never connects.
  const app = (loadTopology?: () => Promise<Topology>) =>
    buildApp({ config: loadCollectorConfig({ env: {}, configFlag: undefined }), db: {} as Db, registry: new Registry(), natsConnected: () => true, token: TOKEN, loadTopology }, pino({ level: "silent" }));
  const TOKEN = "graph-token";
  const authorization = `Bearer ${TOKEN}`;

  test("serves the map as an SVG document that may not run anything", async () => {
    const server = await app(async () => twoClientsMonitored());
    const response = await server.inject({ method: "GET", url: "/api/v1/topology.svg?theme=dark", headers: { authorization } });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["content-type"], "image/svg+xml; charset=utf-8");
    assert.match(String(response.headers["content-security-policy"]), /default-src 'none'/);
    assert.ok(svgTexts(response.body).includes("pve1"));
    assert.match(response.body, /xlink:href="\/#host=3"/);
    assert.match(response.body, /fill="#33291a"/, "the dark palette");
    await server.close();
  });

  test("expand= draws only the listed clients and sites open; the others are one node counting their hosts, linking to open them", async () => {
    const server = await app(async () => twoClientsMonitored());
    const response = await server.inject({ method: "GET", url: "/api/v1/topology.svg?expand=acme", headers: { authorization } });
    assert.equal(response.statusCode, 200);
    const texts = svgTexts(response.body);
    assert.ok(texts.includes("acme") && texts.includes("globex"), texts.join(", "));
    assert.ok(texts.includes("paris-dc1") && texts.includes("lyon-2"), "acme's sites, closed");
    assert.ok(!texts.includes("pve1") && !texts.includes("edge"), "no host of a closed site or client is drawn");
    assert.ok(texts.some((t) => /^6 hosts: /.test(t)), `paris-dc1 counts its 6 hosts: ${texts.join(", ")}`);
    for (const key of ["acme", "acme/paris-dc1", "acme/lyon-2", "globex"]) assert.match(response.body, new RegExp(`xlink:href="/#toggle=${key}"`), key);
    const all = await server.inject({ method: "GET", url: "/api/v1/topology.svg?expand=all", headers: { authorization } });
    assert.ok(svgTexts(all.body).includes("pve1"));
    assert.equal((await server.inject({ method: "GET", url: "/api/v1/topology.svg?expand=Acme,x", headers: { authorization } })).statusCode, 400, "keys are slugs");
    await server.close();
  });

  test("topologyToDot - without expand everything is open and no client or site links anywhere (netmap graph)", () => {
    const dot = topologyToDot(twoClientsMonitored());
    assert.doesNotMatch(dot, /toggle|shape=folder/);
  });

  test("refuses an unknown theme", async () => {
    const server = await app(async () => twoClientsMonitored());
    const response = await server.inject({ method: "GET", url: "/api/v1/topology.svg?theme=pink", headers: { authorization } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, "BAD_REQUEST");
    await server.close();
  });

  test("is absent (404) while the collector has no topology to give", async () => {
    const server = await app();
    assert.equal((await server.inject({ method: "GET", url: "/api/v1/topology.svg", headers: { authorization } })).statusCode, 404);
    assert.equal((await server.inject({ method: "GET", url: "/api/v1/inventory/ansible", headers: { authorization } })).statusCode, 404);
    await server.close();
  });
});
