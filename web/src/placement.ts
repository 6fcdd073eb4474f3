// Where each host sits in the topology (client, site, its entry), by database id. Pure: the
// hosts list groups and filters by it, the host page shows it. The hop chain is the
// collector's to work out (GET /api/v1/routes/:host), as for `netmap ssh`.
import type { Topology, TopologyHost } from "../../collector/src/http/api-types.ts";

export interface Placement {
  client: string;
  site: string;
  host: TopologyHost;
  /** CLIENT/SITE/HOST of slugs: what `netmap ssh` and /api/v1/routes take, whatever the names hold. */
  reference: string;
}

export function placements(topology: Topology | null): Map<number, Placement> {
  const byId = new Map<number, Placement>();
  for (const client of topology?.clients ?? []) {
    for (const site of client.sites) {
      for (const host of site.hosts) {
        if (host.id === undefined) continue;
        // The API fills every slug in (TopologyResponse); a name is the fallback for an older collector.
        const reference = [client, site, host].map((named) => named.slug ?? named.name).join("/");
        byId.set(host.id, { client: client.name, site: site.name, host, reference });
      }
    }
  }
  return byId;
}

/** "role=web" → the hosts whose labels hold it; "role" → those with the label at all. */
export function labelMatches(labels: Record<string, string> | undefined, filter: string): boolean {
  if (!filter) return true;
  const [name, ...rest] = filter.split("=");
  const value = rest.join("=");
  const have = labels?.[name!.trim()];
  return have !== undefined && (rest.length === 0 || have === value.trim());
}
