// Which hosts a `netmap run` selection names, each with its SSH route or why it has none.
// Pure, over a Topology. Named hosts are taken as named (an unknown one is an error of the
// whole request); the filters (--client, --site, --label, --all) take every placed host SSH
// can reach — one with an address — that matches them all, as an Ansible limit would.
import { BadRequestError, NetMapError } from "../errors.ts";
import type { Hop, Topology } from "../topology/model.ts";
import { UNASSIGNED } from "../topology/repository.ts";
import { allHosts, findHost, qualifiedName, routeFrom, type LocatedHost } from "../topology/routes.ts";

export interface Selection {
  hosts: string[];
  client: string;
  site: string;
  labels: Record<string, string>;
  all: boolean;
}

export interface SelectedHost {
  /** CLIENT/SITE/NAME. */
  host: string;
  hops: Hop[];
  /** Why there is no route; empty when there is. */
  error: string;
}

export function selectHosts(topology: Topology, selection: Selection): SelectedHost[] {
  const filtered = selection.all || selection.client !== "" || selection.site !== "" || Object.keys(selection.labels).length > 0;
  if (!filtered && !selection.hosts.length) throw new BadRequestError("select: name hosts, or give --client, --site, --label or --all");
  const picked = new Map<string, LocatedHost>();
  for (const reference of selection.hosts) {
    const located = findHost(topology, reference);
    picked.set(qualifiedName(located), located);
  }
  if (filtered) {
    for (const located of allHosts(topology)) {
      if (located.client.name === UNASSIGNED || located.host.address === null) continue;
      if (selection.client !== "" && located.client.name !== selection.client) continue;
      if (selection.site !== "" && located.site.name !== selection.site) continue;
      if (!Object.entries(selection.labels).every(([key, value]) => located.host.labels[key] === value)) continue;
      picked.set(qualifiedName(located), located);
    }
  }
  return [...picked].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([host, located]) => {
    try {
      return { host, hops: routeFrom(located), error: "" };
    } catch (error) {
      if (error instanceof NetMapError) return { host, hops: [], error: error.message };
      throw error;
    }
  });
}
