// The topology as a Graphviz graph: a cluster per client and per site, each hypervisor (or
// host running containers) a cluster holding its guests, a Compose project's containers a
// cluster inside their host, SSH hops as dashed edges, hosts coloured by status. Pure, apart
// from renderSvg, which lays the DOT out in-process with Graphviz compiled to WebAssembly.
//
// Names come from people, Proxmox and agents, so none is ever written raw into DOT: every
// node and cluster gets a generated id (n1, cluster_c1 …) and every value goes into a quoted,
// escaped string (dotString, text/escape.ts), so quotes, backslashes, `node`, `subgraph`,
// `&lt;` and control characters are only ever text.
import { Graphviz } from "@hpcc-js/wasm-graphviz";
import type { HostStatus } from "../hosts/status.ts";
import { dotString } from "../text/escape.ts";
import type { NetworkLink } from "../snmp/links.ts";
import type { Client, Site, Topology, TopologyHost } from "./model.ts";
import { slugOf } from "./names.ts";

export type MapTheme = "light" | "dark";

export interface DotOptions {
  /** Colours for a light or a dark page (the status page's panel colour behind); default light. */
  theme?: MapTheme;
  /** Where a host with a database id links to; default the status page's `/#host=<id>`. */
  hostHref?: (id: number) => string;
  /**
   * The clients (`client-slug`) and sites (`client-slug/site-slug`) drawn open; every other one
   * is one node counting its hosts. Default "all": everything open. Thousands of hosts are
   * unreadable, and slow to lay out, all open at once.
   */
  expand?: ReadonlySet<string> | "all";
  /** Where a client or site links to, to open or close it (the console's map); default no link. */
  groupHref?: (key: string) => string;
  /** Each host's containers drawn as one node ("12 containers, 11 running") linking to the host, rather than one each. */
  collapseContainers?: boolean;
}

/** The worst status among hosts, for a closed client or site: down, stale, unknown, then up. */
function worstStatus(hosts: TopologyHost[]): HostStatus | "unknown" {
  const seen = new Set(hosts.map((host) => host.status ?? "unknown"));
  return (["down", "stale", "unknown", "up"] as const).find((status) => seen.has(status)) ?? "unknown";
}

function countLine(hosts: TopologyHost[]): string {
  const counts = new Map<string, number>();
  for (const host of hosts) counts.set(host.status ?? "unknown", (counts.get(host.status ?? "unknown") ?? 0) + 1);
  const parts = (["up", "stale", "down", "unknown"] as const).filter((status) => counts.has(status)).map((status) => `${counts.get(status)} ${status}`);
  return `${hosts.length} host${hosts.length === 1 ? "" : "s"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

interface Palette {
  background: string;
  text: string;
  muted: string;
  clientBorder: string;
  siteBorder: string;
  hypervisorBorder: string;
  hypervisorFill: string;
  edge: string;
  status: Record<HostStatus | "unknown", { fill: string; border: string }>;
}

const PALETTES: Record<MapTheme, Palette> = {
  light: {
    background: "#ffffff",
    text: "#24292f",
    muted: "#636c76",
    clientBorder: "#8c959f",
    siteBorder: "#afb8c1",
    hypervisorBorder: "#8250df",
    hypervisorFill: "#f6f2fd",
    edge: "#57606a",
    status: {
      up: { fill: "#dcf3de", border: "#2d8a35" },
      stale: { fill: "#fbefd0", border: "#b7791f" },
      down: { fill: "#fbdcdd", border: "#cf222e" },
      unknown: { fill: "#eaeef2", border: "#8c959f" },
    },
  },
  dark: {
    background: "#181b1f",
    text: "#d8dce2",
    muted: "#8b929c",
    clientBorder: "#5a616c",
    siteBorder: "#3a404a",
    hypervisorBorder: "#b877d9",
    hypervisorFill: "#221d2a",
    edge: "#8b929c",
    status: {
      up: { fill: "#1d2e1f", border: "#56a64b" },
      stale: { fill: "#33291a", border: "#e0a31b" },
      down: { fill: "#361d20", border: "#e0464e" },
      unknown: { fill: "#23272e", border: "#6c737e" },
    },
  },
};

const FONT = "Helvetica,Arial,sans-serif";

/** Lines of a label: each escaped, joined by Graphviz's centred line break. */
function dotLines(...lines: string[]): string {
  return `"${lines.map((line) => dotString(line).slice(1, -1)).join("\\n")}"`;
}

function attributes(attrs: Record<string, string | undefined>): string {
  const parts = Object.entries(attrs)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`);
  return parts.length ? ` [${parts.join(", ")}]` : "";
}

/** `netmap ssh NAME`, quoted for a POSIX shell when the name needs it. */
export function sshCommand(name: string): string {
  return `netmap ssh ${/^[A-Za-z0-9._@%+=:,/-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`}`;
}

function endpoint(host: TopologyHost): string {
  if (host.address === null) return "no address";
  return `${host.ssh.user ? `${host.ssh.user}@` : ""}${host.address.includes(":") ? `[${host.address}]` : host.address}:${host.ssh.port}`;
}

/**
 * The host SSH reaches this one through, if any: its `via`, else its hypervisor, else the
 * site's bastion. Only the previous hop: the whole chain is what routes.ts computes.
 */
export function previousHop(site: Site, host: TopologyHost): string | null {
  const previous = host.via ?? host.parent ?? site.bastion;
  return previous !== null && previous !== host.name ? previous : null;
}

class DotWriter {
  readonly lines: string[] = [];
  /** Node id of each host with a database id, for the links drawn between sites' hosts. */
  readonly byHostId = new Map<number, string>();
  private nextNode = 1;
  private nextCluster = 1;

  nodeId(): string {
    return `n${this.nextNode++}`;
  }

  clusterId(prefix: "c" | "s" | "h"): string {
    return `cluster_${prefix}${this.nextCluster++}`;
  }

  line(depth: number, text: string): void {
    this.lines.push(`${"  ".repeat(depth)}${text}`);
  }
}

/** The topology as DOT text for `dot`. Deterministic: the same topology gives the same text. */
export function topologyToDot(topology: Topology, options: DotOptions = {}): string {
  const palette = PALETTES[options.theme ?? "light"];
  const hostHref = options.hostHref ?? ((id: number) => `/#host=${id}`);
  const out = new DotWriter();

  out.line(0, "digraph netmap {");
  out.line(1, `graph${attributes({ rankdir: "LR", bgcolor: dotString(palette.background), fontname: dotString(FONT), fontcolor: dotString(palette.text), fontsize: "13", nodesep: "0.25", ranksep: "0.6", pad: "0.2" })};`);
  out.line(1, `node${attributes({ shape: "box", style: dotString("rounded,filled"), fontname: dotString(FONT), fontsize: "11", fontcolor: dotString(palette.text), penwidth: "1.4", margin: dotString("0.12,0.06") })};`);
  out.line(1, `edge${attributes({ style: "dashed", color: dotString(palette.edge), arrowsize: "0.6", penwidth: "1.1" })};`);

  const edges: string[] = [];
  const groups: Groups = { expand: options.expand ?? "all", href: options.groupHref ?? null, collapseContainers: options.collapseContainers ?? false };
  for (const client of topology.clients) writeClient(out, client, palette, hostHref, edges, groups);
  if (topology.clients.every((client) => client.sites.every((site) => site.hosts.length === 0))) {
    out.line(1, `${out.nodeId()}${attributes({ label: dotString("No hosts in the topology yet"), shape: "plaintext", style: dotString(""), fontcolor: dotString(palette.muted) })};`);
  }
  for (const edge of edges) out.line(1, edge);
  for (const link of topology.links ?? []) {
    const from = out.byHostId.get(link.from.hostId);
    const to = out.byHostId.get(link.to.hostId);
    if (from !== undefined && to !== undefined) out.line(1, linkEdge(from, to, link, palette));
  }
  out.line(0, "}");
  return `${out.lines.join("\n")}\n`;
}

interface Groups {
  expand: ReadonlySet<string> | "all";
  href: ((key: string) => string) | null;
  /** Each host's containers folded into one node. */
  collapseContainers: boolean;
}

function groupLink(groups: Groups, key: string): Record<string, string | undefined> {
  return groups.href ? { URL: dotString(groups.href(key)), target: dotString("_top") } : {};
}

const isOpen = (groups: Groups, key: string) => groups.expand === "all" || groups.expand.has(key);

/** A closed client or site: one node, coloured by its worst host, counting its hosts, linking to open it. */
function groupNode(out: DotWriter, depth: number, what: string, label: string, key: string, hosts: TopologyHost[], palette: Palette, groups: Groups): void {
  const colours = palette.status[worstStatus(hosts)];
  out.line(depth, `${out.nodeId()}${attributes({
    label: dotLines(label, countLine(hosts)),
    shape: "folder",
    style: dotString("filled"),
    fillcolor: dotString(colours.fill),
    color: dotString(colours.border),
    tooltip: dotString(`${what} ${label}: ${countLine(hosts)}`),
    ...groupLink(groups, key),
  })};`);
}

function writeClient(out: DotWriter, client: Client, palette: Palette, hostHref: (id: number) => string, edges: string[], groups: Groups): void {
  const key = slugOf(client);
  if (!isOpen(groups, key)) return groupNode(out, 1, "client", client.name, key, client.sites.flatMap((site) => site.hosts), palette, groups);
  out.line(1, `subgraph ${out.clusterId("c")} {`);
  out.line(2, `graph${attributes({ label: dotString(client.name), labeljust: "l", style: dotString("rounded"), color: dotString(palette.clientBorder), penwidth: "1.6", fontsize: "14", tooltip: dotString(`client ${client.name}`), ...groupLink(groups, key) })};`);
  for (const site of client.sites) writeSite(out, client, site, palette, hostHref, edges, groups);
  out.line(1, "}");
}

function writeSite(out: DotWriter, client: Client, site: Site, palette: Palette, hostHref: (id: number) => string, edges: string[], groups: Groups): void {
  const key = `${slugOf(client)}/${slugOf(site)}`;
  if (!isOpen(groups, key)) return groupNode(out, 2, "site", site.name, key, site.hosts, palette, groups);
  const collapse = groups.collapseContainers;
  out.line(2, `subgraph ${out.clusterId("s")} {`);
  out.line(3, `graph${attributes({ label: dotString(site.name), labeljust: "l", style: dotString("rounded,dashed"), color: dotString(palette.siteBorder), penwidth: "1", fontsize: "12", tooltip: dotString(`site ${client.name} / ${site.name}`), ...groupLink(groups, key) })};`);

  const ids = new Map<string, string>();
  for (const host of site.hosts) {
    if (ids.has(host.name)) continue;
    ids.set(host.name, out.nodeId());
    if (host.id !== undefined) out.byHostId.set(host.id, ids.get(host.name)!);
  }

  // Guests under their hypervisor; a parent that is unknown, or part of a parent cycle,
  // leaves the host at site level rather than dropping it.
  const byName = new Map(site.hosts.map((host) => [host.name, host]));
  const placedUnder = (host: TopologyHost): string | null => {
    const seen = new Set([host.name]);
    for (let parent = host.parent; parent !== null; parent = byName.get(parent)?.parent ?? null) {
      if (seen.has(parent) || !byName.has(parent)) return null;
      seen.add(parent);
    }
    return host.parent;
  };
  const children = new Map<string | null, TopologyHost[]>();
  // Collapsed: a host's containers leave the drawing, counted on one node under their host.
  const collapsed = new Map<string, TopologyHost[]>();
  for (const host of site.hosts) {
    const under = placedUnder(host);
    if (collapse && host.container && under !== null) {
      collapsed.set(under, [...(collapsed.get(under) ?? []), host]);
      continue;
    }
    children.set(under, [...(children.get(under) ?? []), host]);
  }
  // A folded container has no node of its own: no edge or link may name one.
  for (const host of [...collapsed.values()].flat()) {
    ids.delete(host.name);
    if (host.id !== undefined) out.byHostId.delete(host.id);
  }

  const written = new Set<string>();
  const writeHost = (host: TopologyHost, depth: number): void => {
    if (written.has(host.name)) return; // a duplicate name: the file import refuses these
    written.add(host.name);
    const guests = children.get(host.name) ?? [];
    const folded = collapsed.get(host.name) ?? [];
    if (host.kind === "hypervisor" || guests.length > 0 || folded.length > 0) {
      out.line(depth, `subgraph ${out.clusterId("h")} {`);
      out.line(depth + 1, `graph${attributes({ label: dotString(""), style: dotString("rounded,filled"), fillcolor: dotString(palette.hypervisorFill), color: dotString(palette.hypervisorBorder), penwidth: "1.2", tooltip: dotString(`${host.name} and its guests`) })};`);
      out.line(depth + 1, hostNode(ids.get(host.name)!, client, site, host, palette, hostHref));
      if (folded.length) out.line(depth + 1, foldedNode(out.nodeId(), host, folded, palette, hostHref));
      // Containers of one Compose project together, in a box of their own under their host.
      const projects = new Map<string, TopologyHost[]>();
      for (const guest of guests) {
        const project = guest.container?.compose?.project;
        if (project === undefined) writeHost(guest, depth + 1);
        else projects.set(project, [...(projects.get(project) ?? []), guest]);
      }
      for (const [project, members] of [...projects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        out.line(depth + 1, `subgraph ${out.clusterId("h")} {`);
        out.line(depth + 2, `graph${attributes({ label: dotString(`compose: ${project}`), labeljust: "l", style: dotString("rounded,dashed"), color: dotString(palette.hypervisorBorder), fontsize: "10", tooltip: dotString(`Compose project ${project} on ${host.name}`) })};`);
        for (const member of members) writeHost(member, depth + 2);
        out.line(depth + 1, "}");
      }
      out.line(depth, "}");
    } else {
      out.line(depth, hostNode(ids.get(host.name)!, client, site, host, palette, hostHref));
    }
  };
  for (const host of children.get(null) ?? []) writeHost(host, 3);
  out.line(2, "}");

  for (const host of site.hosts) {
    const previous = previousHop(site, host);
    const from = previous === null ? undefined : ids.get(previous);
    if (from === undefined || !ids.has(host.name)) continue;
    edges.push(`${from} -> ${ids.get(host.name)}${attributes({ tooltip: dotString(`SSH: ${previous} → ${host.name}`) })};`);
  }
}

function hostNode(id: string, client: Client, site: Site, host: TopologyHost, palette: Palette, hostHref: (id: number) => string): string {
  const status = host.status ?? "unknown";
  const colours = palette.status[status];
  const tooltip = [
    `${host.name} (${host.kind}) — ${status}`,
    `${client.name} / ${site.name}`,
    `SSH ${endpoint(host)}`,
    host.address === null ? null : sshCommand(host.name),
  ].filter((line): line is string => line !== null);
  const container = host.container;
  if (container) tooltip.splice(1, 0, `${container.image} — ${container.state}${container.compose ? ` (Compose ${container.compose.project}/${container.compose.service ?? "?"})` : ""}`);
  return `${id}${attributes({
    label: container ? dotLines(host.name, container.compose?.service ? `${container.compose.service} · ${container.state}` : container.state) : dotLines(host.name, host.address ?? "no address"),
    fillcolor: dotString(colours.fill),
    color: dotString(colours.border),
    shape: host.kind === "hypervisor" ? "box3d" : host.kind === "network" ? "hexagon" : host.kind === "container" ? "component" : undefined,
    style: host.kind === "hypervisor" || host.kind === "network" ? dotString("filled") : undefined,
    penwidth: status === "down" ? "2.2" : undefined,
    tooltip: dotLines(...tooltip),
    URL: host.id === undefined ? undefined : dotString(hostHref(host.id)),
    target: host.id === undefined ? undefined : dotString("_top"),
  })};`;
}

/** A host's containers as one node: how many, how many running, worst status first in colour. */
function foldedNode(id: string, host: TopologyHost, containers: TopologyHost[], palette: Palette, hostHref: (id: number) => string): string {
  const running = containers.filter((c) => c.container?.state === "running").length;
  const worst = (["down", "stale", "up"] as const).find((status) => containers.some((c) => c.status === status)) ?? "unknown";
  const colours = palette.status[worst];
  const count = `${containers.length} container${containers.length === 1 ? "" : "s"}`;
  return `${id}${attributes({
    label: dotLines(count, `${running} running`),
    shape: "component",
    fillcolor: dotString(colours.fill),
    color: dotString(colours.border),
    tooltip: dotLines(`${count} on ${host.name}, ${running} running`, ...containers.slice(0, 20).map((c) => `${c.name}: ${c.container?.state ?? "?"}`)),
    URL: host.id === undefined ? undefined : dotString(hostHref(host.id)),
    target: host.id === undefined ? undefined : dotString("_top"),
  })};`;
}

/** A cable or neighbourhood a network device shows: undirected, solid, red when a reporting end is down. */
function linkEdge(from: string, to: string, link: NetworkLink, palette: Palette): string {
  const speed = link.speedBps === null ? null : link.speedBps >= 1e9 ? `${link.speedBps / 1e9}G` : `${Math.round(link.speedBps / 1e6)}M`;
  const ports = link.kind === "arp" ? `ARP via ${link.from.port}` : `${link.from.port} — ${link.to.port ?? "?"}`;
  const state = link.up === null ? "state unknown" : link.up ? "up" : "down";
  return `${from} -> ${to}${attributes({
    dir: "none",
    style: link.kind === "arp" ? "dotted" : link.up === false ? "dashed" : "solid",
    color: dotString(link.up === false ? palette.status.down.border : palette.edge),
    penwidth: link.kind === "lldp" ? "1.8" : "1",
    constraint: "false",
    label: dotString(speed ? `${ports} · ${speed}` : ports),
    fontname: dotString(FONT),
    fontsize: "9",
    fontcolor: dotString(palette.muted),
    tooltip: dotString(`${link.kind.toUpperCase()} link ${ports}: ${state}${speed ? `, ${speed}` : ""}`),
  })};`;
}

let graphviz: Promise<Graphviz> | null = null;
/** The last layouts, by their DOT text: the console asks for the same drawing every refresh. */
const layouts = new Map<string, string>();
const KEPT_LAYOUTS = 8;

/**
 * DOT → SVG with the dot layout, in this process. The WebAssembly Graphviz is embedded in its
 * npm package and loaded once, on first use; it fetches nothing. The same DOT (same hosts,
 * statuses and view) is laid out once: a layout of thousands of hosts takes a second or more.
 */
export async function renderSvg(dot: string): Promise<string> {
  const kept = layouts.get(dot);
  if (kept !== undefined) {
    layouts.delete(dot);
    layouts.set(dot, kept);
    return kept;
  }
  graphviz ??= Graphviz.load();
  const svg = (await graphviz).dot(dot, "svg");
  layouts.set(dot, svg);
  if (layouts.size > KEPT_LAYOUTS) layouts.delete(layouts.keys().next().value!);
  return svg;
}
