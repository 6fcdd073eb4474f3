// The rules a whole topology keeps, checked before anything is written (a file)
// and again on the merged result (inside the import transaction). Every
// problem names its host; all of them are reported at once.
import { isAgentId } from "../../../proto/src/subjects.ts";
import { TopologyError } from "../errors.ts";
import { HOST_KINDS, type Topology } from "./model.ts";
import { isValidAddress, isValidName, isValidPort, isValidSlug, isValidUser, NAME_RULE, slugOf, SLUG_RULE } from "./names.ts";
import { nextHopName } from "./routes.ts";

export interface ProblemOptions {
  /**
   * Whether a hop without an address is a problem: by default every one. The check of a merged
   * import asks it only of the hosts the file declares: a discovered node nobody gave an
   * address yet is no fault of the file (its routes say so when asked).
   */
  hopNeedsAddress?: (client: string, site: string, host: string) => boolean;
}

/**
 * A name and its slug: each valid, and the slug not another's in the same scope (a client's
 * among clients, a site's in its client, a host's in its site), since the slug is how the CLI,
 * URLs and ssh aliases find it.
 */
function checkNamed(what: string, where: string, thing: { name: string; slug?: string | null }, slugs: Map<string, string>, problems: string[]): void {
  if (!isValidName(thing.name)) problems.push(`${what} ${JSON.stringify(where)}: ${NAME_RULE}`);
  if (thing.slug != null && !isValidSlug(thing.slug)) problems.push(`${what} ${where}: slug ${JSON.stringify(thing.slug)}: ${SLUG_RULE}`);
  const slug = slugOf(thing);
  const other = slugs.get(slug);
  if (other !== undefined && other !== thing.name) {
    problems.push(`${what} ${where}: slug ${JSON.stringify(slug)} is also ${JSON.stringify(other)}'s; give one of them another (slug: in the file)`);
  }
  if (other === undefined) slugs.set(slug, thing.name);
}

export function topologyProblems(topology: Topology, options: ProblemOptions = {}): string[] {
  const problems: string[] = [];
  const clientNames = new Set<string>();
  const clientSlugs = new Map<string, string>();
  const agentHosts = new Map<string, string>();
  for (const client of topology.clients) {
    checkNamed("client", client.name, client, clientSlugs, problems);
    if (clientNames.has(client.name)) problems.push(`client ${client.name}: declared twice`);
    clientNames.add(client.name);
    const siteNames = new Set<string>();
    const siteSlugs = new Map<string, string>();
    for (const site of client.sites) {
      const where = `${client.name}/${site.name}`;
      checkNamed("site", where, site, siteSlugs, problems);
      if (siteNames.has(site.name)) problems.push(`site ${where}: declared twice`);
      siteNames.add(site.name);
      const byName = new Map<string, (typeof site.hosts)[number]>();
      const hostSlugs = new Map<string, string>();
      for (const host of site.hosts) {
        const at = `${where}/${host.name}`;
        if (byName.has(host.name)) problems.push(`host ${at}: declared twice in the site`);
        byName.set(host.name, host);
        checkNamed("host", at, host, hostSlugs, problems);
        if (!HOST_KINDS.includes(host.kind)) problems.push(`host ${at}: kind ${JSON.stringify(host.kind)} is not one of ${HOST_KINDS.join(", ")}`);
        if (host.address !== null && !isValidAddress(host.address)) problems.push(`host ${at}: address ${JSON.stringify(host.address)} is not an IP address or DNS name`);
        if (host.ssh.user !== null && !isValidUser(host.ssh.user)) problems.push(`host ${at}: ssh user ${JSON.stringify(host.ssh.user)} is not a valid login name`);
        if (!isValidPort(host.ssh.port)) problems.push(`host ${at}: ssh port ${host.ssh.port} is not between 1 and 65535`);
        if (host.via === host.name) problems.push(`host ${at}: goes through itself (via ${host.name})`);
        if (typeof host.agentId === "string") {
          if (!isAgentId(host.agentId)) problems.push(`host ${at}: agent_id ${JSON.stringify(host.agentId)} is not 1-64 characters of [a-z0-9_-]`);
          const other = agentHosts.get(host.agentId);
          if (other !== undefined) problems.push(`host ${at}: agent_id ${host.agentId} is already ${other}'s`);
          agentHosts.set(host.agentId, at);
        }
      }
      if (site.bastion !== null && !byName.has(site.bastion)) problems.push(`site ${where}: bastion ${JSON.stringify(site.bastion)} is not a host of the site`);
      for (const host of site.hosts) {
        const at = `${where}/${host.name}`;
        if (host.via !== null && host.via !== host.name && !byName.has(host.via)) problems.push(`host ${at}: via ${JSON.stringify(host.via)} is not a host of ${where}`);
        if (host.parent !== null && !byName.has(host.parent)) problems.push(`host ${at}: parent ${JSON.stringify(host.parent)} is not a host of ${where}`);
      }
      // Each loop is reported once, by its first host in the site's order, however many hosts are on it.
      const reported = new Set<string>();
      for (const host of site.hosts) {
        const parents = [host.name];
        for (let p = host.parent; p !== null && byName.has(p); p = byName.get(p)!.parent) {
          if (parents.includes(p)) {
            const key = `parent:${[...parents.slice(parents.indexOf(p))].sort().join()}`;
            if (!reported.has(key)) problems.push(`host ${where}/${p}: is its own hypervisor: ${[...parents.slice(parents.indexOf(p)), p].join(" → ")}`);
            reported.add(key);
            break;
          }
          parents.push(p);
        }
        // Already said: "goes through itself".
        if (host.via === host.name) reported.add(host.name);
      }
      // Walk each host's chain: a loop, or a hop nobody can connect to. A hop that is not a host
      // of the site was reported above; the walk stops there.
      for (const host of site.hosts) {
        const chain = [host.name];
        for (let name = nextHopName(site, host); name !== null && byName.has(name); ) {
          const hop = byName.get(name)!;
          if (chain.includes(name)) {
            const loop = [...chain.slice(chain.indexOf(name)), name];
            const key = loop.slice(0, -1).sort().join();
            if (!reported.has(key)) problems.push(`host ${where}/${name}: the SSH hops form a cycle: ${loop.join(" → ")}`);
            reported.add(key);
            break;
          }
          if (!hop.address && !reported.has(`address:${name}`) && (options.hopNeedsAddress?.(client.name, site.name, name) ?? true)) {
            problems.push(`host ${where}/${name}: has no address, but ${host.name} is reached through it`);
            reported.add(`address:${name}`);
          }
          chain.push(name);
          name = nextHopName(site, hop);
        }
      }
    }
  }
  return problems;
}

export function assertValidTopology(topology: Topology, what = "topology"): void {
  const problems = topologyProblems(topology);
  if (problems.length) throw problemsError(what, problems);
}

/** Every problem at once, one a line, so a person fixes a file in one go; nothing is imported. */
export function problemsError(what: string, problems: string[]): TopologyError {
  if (problems.length === 1) return new TopologyError(`${what}: ${problems[0]}`);
  return new TopologyError(`${what}: ${problems.length} problems, nothing imported:\n  ${problems.join("\n  ")}`);
}
