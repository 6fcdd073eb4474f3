// How SSH reaches a host: its via, else its parent (a guest is reached through
// its hypervisor), else its site's bastion, repeated until a host with none.
// Pure functions of a Topology.
import { AmbiguousHostError, NotFoundError, RouteError } from "../errors.ts";
import type { Client, Hop, Site, Topology, TopologyHost } from "./model.ts";
import { slugOf } from "./names.ts";

export interface LocatedHost {
  client: Client;
  site: Site;
  host: TopologyHost;
}

/** `client/site/name` of a host: the one unambiguous way to name it. */
export function qualifiedName(located: { client: { name: string }; site: { name: string }; host: { name: string } }): string {
  return `${located.client.name}/${located.site.name}/${located.host.name}`;
}

export function allHosts(topology: Topology): LocatedHost[] {
  return topology.clients.flatMap((client) => client.sites.flatMap((site) => site.hosts.map((host) => ({ client, site, host }))));
}

/** The ssh_config alias of a host, `client.site.host` of slugs: what ssh sees, never a name. */
export function sshAlias(located: LocatedHost): string {
  return `${slugOf(located.client)}.${slugOf(located.site)}.${slugOf(located.host)}`;
}

/** `client/site/host` of slugs: how the CLI and URLs name a host whatever its name holds. */
export function qualifiedSlug(located: LocatedHost): string {
  return `${slugOf(located.client)}/${slugOf(located.site)}/${slugOf(located.host)}`;
}

const named = (thing: { name: string; slug?: string | null }, reference: string | undefined) =>
  reference === undefined || thing.name === reference || slugOf(thing) === reference;

/**
 * Finds a host by `name`, `site/name` or `client/site/name`, each part a name or a slug. A
 * bare name that several sites use is ambiguous, and the error lists the qualified names.
 */
export function findHost(topology: Topology, reference: string): LocatedHost {
  const parts = reference.split("/");
  if (parts.length > 3 || parts.some((p) => p === "")) throw new NotFoundError(`no host ${JSON.stringify(reference)}: expected NAME, SITE/NAME or CLIENT/SITE/NAME`);
  const [name, site, client] = [...parts].reverse();
  const matches = allHosts(topology).filter(
    (h) => named(h.host, name) && named(h.site, site) && named(h.client, client),
  );
  if (matches.length === 0) throw new NotFoundError(`no host ${JSON.stringify(reference)} in the topology`);
  if (matches.length > 1) {
    throw new AmbiguousHostError(`host name ${JSON.stringify(reference)} is ambiguous: ${matches.map(qualifiedName).join(", ")}`);
  }
  return matches[0]!;
}

/** The name of the host SSH goes through just before this one, or null for a direct connection. */
export function nextHopName(site: Pick<Site, "bastion">, host: Pick<TopologyHost, "name" | "via" | "parent">): string | null {
  if (host.via) return host.via;
  if (host.parent) return host.parent;
  if (site.bastion && site.bastion !== host.name) return site.bastion;
  return null;
}

/**
 * The hops to `reference`, first connection first, the target last. Errors:
 * ROUTE_CYCLE (names the hosts of the loop), ROUTE_UNKNOWN_HOP (names the
 * host that points at it), ROUTE_NO_ADDRESS (names the host).
 */
export function routeTo(topology: Topology, reference: string): Hop[] {
  const target = findHost(topology, reference);
  return routeFrom(target);
}

export function routeFrom(target: LocatedHost): Hop[] {
  const { client, site } = target;
  const targetName = qualifiedName(target);
  const chain: TopologyHost[] = [];
  for (let host: TopologyHost | undefined = target.host; host; ) {
    const seenAt = chain.findIndex((h) => h.name === host!.name);
    if (seenAt >= 0) {
      const loop = [...chain.slice(seenAt), host].map((h) => h.name).join(" → ");
      throw new RouteError("ROUTE_CYCLE", `route to ${targetName}: the hops form a cycle: ${loop}`);
    }
    chain.push(host);
    const next = nextHopName(site, host);
    if (next === null) break;
    const nextHost = site.hosts.find((h) => h.name === next);
    if (!nextHost) {
      throw new RouteError(
        "ROUTE_UNKNOWN_HOP",
        `route to ${targetName}: ${host.name} goes through ${JSON.stringify(next)}, which is not a host of ${client.name}/${site.name}`,
      );
    }
    host = nextHost;
  }
  chain.reverse();
  return chain.map((host) => {
    if (!host.address) {
      const role = host === target.host ? "the target" : "hop";
      throw new RouteError("ROUTE_NO_ADDRESS", `route to ${targetName}: ${role} ${host.name} has no address`);
    }
    const alias = sshAlias({ client, site, host });
    return { client: client.name, site: site.name, name: host.name, address: host.address, port: host.ssh.port, user: host.ssh.user, alias };
  });
}

/** One hop as ssh writes it: [user@]address[:port], IPv6 in brackets when a port follows. */
export function formatHop(hop: Pick<Hop, "address" | "port" | "user">): string {
  const user = hop.user ? `${hop.user}@` : "";
  if (hop.port === 22) return `${user}${hop.address}`;
  const address = hop.address.includes(":") ? `[${hop.address}]` : hop.address;
  return `${user}${address}:${hop.port}`;
}
