// OpenSSH client config, both ways: `netmap import --ssh-config FILE` reads a
// team's ~/.ssh/config into a Topology; `netmap ssh-config` and `netmap ssh`
// write Host blocks, one per host, each jumping through its next hop's block
// (so every hop gets its own HostKeyAlias and NetMap's known_hosts).
import { RouteError, TopologyError } from "../errors.ts";
import { sshComment } from "../text/escape.ts";
import type { Hop, Topology, TopologyHost } from "./model.ts";
import { ALIAS_PATTERN, isValidAddress, isValidPort, isValidSlug, isValidUser, slugOf } from "./names.ts";
import { allHosts, nextHopName, qualifiedName, routeFrom, sshAlias, type LocatedHost } from "./routes.ts";
import { assertValidTopology } from "./validate.ts";

// ---- reading ------------------------------------------------------------

interface Block {
  patterns: string[];
  options: Map<string, string[]>;
  line: number;
}

/** Splits a config line as OpenSSH does: `Keyword value...` or `Keyword=value`, double quotes group. */
function words(line: string): string[] {
  const m = /^([^\s=]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(line);
  if (!m) return [line];
  return [m[1]!, ...[...m[2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((w) => w[1] ?? w[2]!)];
}

function readBlocks(text: string, fileName: string): { blocks: Block[]; ignored: string[] } {
  const blocks: Block[] = [{ patterns: ["*"], options: new Map(), line: 0 }];
  const ignored: string[] = [];
  let current: Block | null = blocks[0]!;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const [keyword, ...args] = words(line);
    const key = keyword!.toLowerCase();
    if (key === "host") {
      current = { patterns: args, options: new Map(), line: index + 1 };
      blocks.push(current);
    } else if (key === "match") {
      ignored.push(`${fileName}:${index + 1}: Match blocks are not read`);
      current = null;
    } else if (key === "include") {
      ignored.push(`${fileName}:${index + 1}: Include is not followed; import the included file on its own`);
    } else if (current && !current.options.has(key)) {
      current.options.set(key, args);
    }
  });
  return { blocks, ignored };
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test(value);
}

function blockMatches(block: Block, alias: string): boolean {
  let matched = false;
  for (const pattern of block.patterns.flatMap((p) => p.split(","))) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), alias)) return false;
    } else if (globMatch(pattern, alias)) {
      matched = true;
    }
  }
  return matched;
}

/** The first value each option gets for `alias`, as ssh resolves it (first obtained value wins). */
function effectiveOptions(blocks: Block[], alias: string): Map<string, string[]> {
  const options = new Map<string, string[]>();
  for (const block of blocks) {
    if (!blockMatches(block, alias)) continue;
    for (const [key, value] of block.options) if (!options.has(key)) options.set(key, value);
  }
  return options;
}

interface JumpSpec {
  user: string | null;
  host: string;
  port: number | null;
}

/** `[user@]host[:port]`, IPv6 in brackets; also `ssh://[user@]host[:port]`. */
export function parseJump(spec: string): JumpSpec | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!m) return undefined;
  return { user: m[1] ?? null, host: m[2]!.replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : null };
}

export interface SshConfigImport {
  topology: Topology;
  /** Lines that were not read (Match, Include), for the user to see. */
  ignored: string[];
}

/**
 * Reads Host blocks with literal names (patterns like `*` only supply defaults)
 * into one client and site. ProxyJump chains become vias; a jump host that is
 * not itself a Host block becomes a host named after its address.
 */
export function parseSshConfig(text: string, options: { client: string; site: string; fileName?: string }): SshConfigImport {
  const fileName = options.fileName ?? "ssh config";
  const { blocks, ignored } = readBlocks(text, fileName);
  const aliases = [...new Set(blocks.slice(1).flatMap((b) => b.patterns.filter((p) => !/[*?!]/.test(p))))];
  const problems: string[] = [];
  const hosts = new Map<string, TopologyHost>();
  const jumps = new Map<string, string[]>();

  for (const alias of aliases) {
    if (!ALIAS_PATTERN.test(alias)) {
      problems.push(`Host ${JSON.stringify(alias)}: an alias NetMap reads is letters, digits, ".", "_" and "-"`);
      continue;
    }
    const o = effectiveOptions(blocks, alias);
    const hostName = o.get("hostname")?.[0];
    let address = alias;
    if (hostName !== undefined) {
      if (/%[^h%]/.test(hostName)) problems.push(`Host ${alias}: HostName ${JSON.stringify(hostName)} uses a % token other than %h`);
      address = hostName.replace(/%(h|%)/g, (_, t: string) => (t === "h" ? alias : "%"));
    }
    const portText = o.get("port")?.[0];
    const port = portText === undefined ? 22 : Number(portText);
    if (!isValidPort(port)) problems.push(`Host ${alias}: Port ${JSON.stringify(portText)} is not between 1 and 65535`);
    const user = o.get("user")?.[0] ?? null;
    hosts.set(alias, { name: alias, kind: "server", address, ssh: { user, port }, via: null, parent: null, labels: {}, source: "person" });
    const proxyJump = o.get("proxyjump")?.join(",");
    if (proxyJump && proxyJump.toLowerCase() !== "none") jumps.set(alias, proxyJump.split(",").filter(Boolean));
  }

  // Jump hosts: a Host block when the spec names one (with its own user and port), else a new host.
  const jumpHostName = (spec: string, from: string): string | undefined => {
    const jump = parseJump(spec);
    if (!jump) {
      problems.push(`Host ${from}: ProxyJump entry ${JSON.stringify(spec)} is not [user@]host[:port]`);
      return undefined;
    }
    const known = hosts.get(jump.host);
    if (known && (jump.user === null || jump.user === known.ssh.user) && (jump.port === null || jump.port === known.ssh.port)) return known.name;
    const address = known?.address ?? jump.host;
    const user = jump.user ?? known?.ssh.user ?? null;
    const port = jump.port ?? known?.ssh.port ?? 22;
    const same = [...hosts.values()].find((h) => h.address === address && h.ssh.user === user && h.ssh.port === port);
    if (same) return same.name;
    const base = [known ? jump.host : address.replace(/:/g, "-"), jump.user && known ? jump.user : null, port !== 22 ? String(port) : null].filter(Boolean).join("-");
    let name = base;
    for (let n = 2; hosts.has(name); n++) name = `${base}-${n}`;
    hosts.set(name, { name, kind: "server", address, ssh: { user, port }, via: null, parent: null, labels: {}, source: "person" });
    return name;
  };

  for (const [alias, chain] of jumps) {
    const names = chain.map((spec) => jumpHostName(spec, alias));
    if (names.some((n) => n === undefined)) continue;
    const path = [...(names as string[]), alias];
    for (let i = 1; i < path.length; i++) {
      const host = hosts.get(path[i]!)!;
      const via = path[i - 1]!;
      if (host.via !== null && host.via !== via) {
        problems.push(`Host ${host.name}: reached through ${host.via} by its own ProxyJump but through ${via} in the ProxyJump of ${alias}`);
      } else {
        host.via = via;
      }
    }
  }

  if (problems.length) throw new TopologyError(`${fileName}: ${problems.join("; ")}`);
  const topology: Topology = { clients: [{ name: options.client, sites: [{ name: options.site, bastion: null, hosts: [...hosts.values()] }] }] };
  assertValidTopology(topology, fileName);
  return { topology, ignored };
}

// ---- writing ------------------------------------------------------------

export interface SshConfigOptions {
  /** NetMap's known_hosts; with it every block pins keys there under its alias. */
  knownHostsFile?: string;
  /** Also name each block by the bare host slug when that slug is unique. */
  shortNames?: Set<string>;
  /** By alias: the control socket of a connection already open to that hop, to jump through it (openSshConnection). */
  controlPaths?: ReadonlyMap<string, string>;
}

/**
 * Refuses any value that could be read as more than a host, port or user by ssh. The names
 * are never written but in comments; the alias stands for them.
 */
export function assertSafeHop(hop: Hop): void {
  const bad = (what: string, value: string) =>
    new RouteError("ROUTE_UNSAFE", `host ${hop.client}/${hop.site}/${hop.name}: ${what} ${JSON.stringify(value)} is not safe to pass to ssh`);
  if (!hop.alias.split(".").every(isValidSlug) || hop.alias.split(".").length !== 3) throw bad("alias", hop.alias);
  if (!isValidAddress(hop.address)) throw bad("address", hop.address);
  if (hop.user !== null && !isValidUser(hop.user)) throw bad("user", hop.user);
  if (!isValidPort(hop.port)) throw bad("port", String(hop.port));
}

function quotePath(path: string): string {
  if (/["\n\r\0]/.test(path)) throw new RouteError("ROUTE_UNSAFE", `path ${JSON.stringify(path)} cannot be written in an ssh config`);
  return `"${path.replace(/%/g, "%%")}"`;
}

/** One Host block per hop of a route, each jumping through the one before. */
export function renderRouteConfig(hops: Hop[], options: SshConfigOptions = {}): string {
  return hops.map((hop, i) => renderBlock(hop, i === 0 ? null : hops[i - 1]!, options)).join("\n");
}

// Every value written below is checked here, the previous hop's too (its alias is the
// ProxyJump value): a block is written whole or not at all.
function renderBlock(hop: Hop, previous: Hop | null, options: SshConfigOptions): string {
  assertSafeHop(hop);
  if (previous) assertSafeHop(previous);
  const alias = hop.alias;
  const short = alias.split(".")[2]!;
  const names = options.shortNames?.has(short) ? `${alias} ${short}` : alias;
  const lines = [sshComment(`${hop.client}/${hop.site}/${hop.name}`), `Host ${names}`, `  HostName ${hop.address}`, `  Port ${hop.port}`];
  if (hop.user) lines.push(`  User ${hop.user}`);
  lines.push(`  ProxyJump ${previous ? previous.alias : "none"}`);
  const controlPath = options.controlPaths?.get(alias);
  if (controlPath) lines.push(`  ControlPath ${quotePath(controlPath)}`, "  ControlMaster no");
  if (options.knownHostsFile) {
    lines.push(
      `  HostKeyAlias ${alias}`,
      `  UserKnownHostsFile ${quotePath(options.knownHostsFile)}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking accept-new",
      "  CheckHostIP no",
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Host blocks for every host with a route, in topology order. Hosts without
 * one (no address, a broken chain, a name unfit for ssh) become a comment
 * saying why; every comment goes through sshComment, since names in it come
 * from agents and Proxmox.
 */
export function renderTopologySshConfig(topology: Topology, options: SshConfigOptions = {}): string {
  const located = allHosts(topology);
  const counts = new Map<string, number>();
  for (const { host } of located) counts.set(slugOf(host), (counts.get(slugOf(host)) ?? 0) + 1);
  const shortNames = new Set([...counts].filter(([slug, n]) => n === 1 && isValidSlug(slug)).map(([slug]) => slug));
  const out = [`${sshComment("Generated by `netmap ssh-config`; every host jumps through its next hop's block.")}\n`];
  // Imports keep slugs unique in a site, but agents name the unassigned hosts: a second host
  // with an alias already written gets a comment, never a block ssh would not reach.
  const written = new Map<string, string>();
  for (const entry of located) {
    const alias = sshAlias(entry);
    const first = written.get(alias);
    if (first !== undefined) {
      out.push(`${sshComment(`${qualifiedName(entry)}: no block: its alias ${alias} is already ${first}'s`)}\n`);
      continue;
    }
    written.set(alias, qualifiedName(entry));
    try {
      out.push(renderHostBlock(entry, { ...options, shortNames }));
    } catch (error) {
      if (!(error instanceof RouteError)) throw error;
      out.push(`${sshComment(`${qualifiedName(entry)}: no route: ${error.message}`)}\n`);
    }
  }
  return out.join("\n");
}

function renderHostBlock(entry: LocatedHost, options: SshConfigOptions): string {
  const hops = routeFrom(entry);
  const target = hops[hops.length - 1]!;
  const previous = nextHopName(entry.site, entry.host) === null ? null : hops[hops.length - 2]!;
  return renderBlock(target, previous, options);
}
