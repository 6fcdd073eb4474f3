// The topology in PostgreSQL: read as a Topology, and a Topology merged in.
import { sql } from "kysely";
import type { Db, Tx } from "../db/database.ts";
import { TopologyError } from "../errors.ts";
import { hostStatus, type StatusThresholds } from "../hosts/status.ts";
import { mergePlacedHost } from "../hosts/writes.ts";
import { attachAgent, claimsByAgentHost } from "./adoption.ts";
import type { FactSource, HostKind, Site, Topology, TopologyHost } from "./model.ts";
import { slugOf } from "./names.ts";
import { assertValidTopology, problemsError, topologyProblems, type ProblemOptions } from "./validate.ts";
import { deviceReachability, networkLinks } from "../snmp/links.ts";
import { containersOnMap } from "../containers/repository.ts";

type Queryable = Db | Tx;

/** Where hosts that only an agent knows (not yet placed by a person) appear. */
export const UNASSIGNED = "unassigned";

export interface LoadOptions {
  /** Hosts no person placed, under client and site "unassigned". Export leaves them out. */
  includeUnassigned?: boolean;
  thresholds?: StatusThresholds;
  now?: Date;
  /** The links network devices show, and the devices' reachability as their status (the map). */
  networkLinks?: boolean;
}

interface HostRow {
  id: number;
  site_id: number | null;
  agent_id: string | null;
  hostname: string;
  name: string | null;
  slug: string | null;
  kind: string;
  address: string | null;
  addresses: string[];
  ssh_user: string | null;
  ssh_port: number;
  via: string | null;
  parent: string | null;
  labels: Record<string, string>;
  source: string;
  received_at: Date | null;
  interval_seconds: number | null;
}

export async function loadTopology(db: Queryable, options: LoadOptions = {}): Promise<Topology> {
  const clients = await db.selectFrom("clients").select(["id", "name", "slug"]).orderBy("id").execute();
  const sites = await db.selectFrom("sites").select(["id", "client_id", "name", "slug", "bastion"]).orderBy("id").execute();
  const rows = (await db
    .selectFrom("hosts")
    .select([
      "id", "site_id", "agent_id", "hostname", "name", "slug", "kind", "address", "addresses", "ssh_user", "ssh_port", "via", "parent",
      "labels", "source", "received_at", "interval_seconds",
    ])
    .orderBy("id")
    .execute()) as HostRow[];

  const claims = await claimsByAgentHost(db);
  const reachable = options.networkLinks ? await deviceReachability(db) : new Map<number, boolean>();
  const containers = await containersOnMap(db);
  const now = options.now ?? new Date();
  const toHost = (row: HostRow): TopologyHost => {
    const host: TopologyHost = {
      id: row.id,
      name: row.name ?? row.hostname,
      ...(row.slug !== null ? { slug: row.slug } : {}),
      kind: row.kind as HostKind,
      // Only what a person wrote or confirmed: a reported address is the reporter's word.
      address: row.address,
      ssh: { user: row.ssh_user, port: row.ssh_port },
      via: row.via,
      parent: row.parent,
      labels: row.labels,
      source: row.source as FactSource,
      agentId: row.agent_id,
    };
    if (row.addresses.length) host.reportedAddresses = row.addresses;
    if (claims.has(row.id)) host.claims = claims.get(row.id)!;
    if (options.thresholds && row.agent_id !== null) {
      const age = row.received_at ? Math.max(0, (now.getTime() - row.received_at.getTime()) / 1000) : null;
      host.status = hostStatus(age, row.interval_seconds, options.thresholds);
    } else if (reachable.has(row.id)) {
      host.status = reachable.get(row.id) ? "up" : "down";
    }
    const container = containers.get(row.id);
    if (container) {
      host.container = { image: container.image, state: container.state, compose: container.compose };
      if (options.thresholds && row.agent_id === null) host.status = container.status;
    }
    return host;
  };

  const bySite = new Map<number, TopologyHost[]>();
  const unassigned: TopologyHost[] = [];
  for (const row of rows) {
    if (row.site_id === null) unassigned.push(toHost(row));
    else bySite.set(row.site_id, [...(bySite.get(row.site_id) ?? []), toHost(row)]);
  }
  const topology: Topology = {
    clients: clients.map((client) => ({
      name: client.name,
      ...(client.slug !== null ? { slug: client.slug } : {}),
      sites: sites
        .filter((site) => site.client_id === client.id)
        .map((site): Site => ({ name: site.name, ...(site.slug !== null ? { slug: site.slug } : {}), bastion: site.bastion, hosts: bySite.get(site.id) ?? [] })),
    })),
  };
  if (options.networkLinks) topology.links = await networkLinks(db);
  if (options.includeUnassigned && unassigned.length) {
    topology.clients.push({ name: UNASSIGNED, sites: [{ name: UNASSIGNED, bastion: null, hosts: unassigned }] });
  }
  return topology;
}

export interface ImportResult {
  created: number;
  updated: number;
  /** Hosts the file gave an agent_id, now attached to that agent. */
  adopted: number;
}

/**
 * Merges a validated topology in one transaction, keyed on (client, site, name).
 * A host is created, or updated with what the topology states; what it leaves
 * out (no address, no user, no via) keeps its stored value. A host with an
 * agent_id is attached to that agent (its unassigned host, if it reported,
 * merges in); no agent is attached by a match of name or address. The merged
 * result is validated before COMMIT.
 */
export async function importTopology(db: Db, topology: Topology): Promise<ImportResult> {
  // By name or by slug: `Unassigned` would share the pseudo-client's ssh aliases and CLI references.
  if (topology.clients.some((c) => c.name === UNASSIGNED || slugOf(c) === UNASSIGNED)) {
    throw new TopologyError(`client name or slug ${JSON.stringify(UNASSIGNED)} is reserved for hosts no person has placed`);
  }
  assertValidTopology(topology);
  const declared = new Set(topology.clients.flatMap((c) => c.sites.flatMap((s) => s.hosts.map((h) => JSON.stringify([c.name, s.name, h.name])))));
  const merged: ProblemOptions = { hopNeedsAddress: (client, site, host) => declared.has(JSON.stringify([client, site, host])) };
  return db.transaction().execute(async (trx) => {
    // The merged result may not break a rule this import did not break before: what discovery or
    // an earlier import left (a hop without an address, …) is not this file's fault.
    const before = new Set(topologyProblems(await loadTopology(trx), merged));
    const result: ImportResult = { created: 0, updated: 0, adopted: 0 };
    for (const client of topology.clients) {
      const { id: clientId } = await trx
        .insertInto("clients")
        .values({ name: client.name, slug: client.slug ?? null })
        .onConflict((oc) => oc.column("name").doUpdateSet({ slug: sql`coalesce(excluded.slug, clients.slug)` }))
        .returning("id")
        .executeTakeFirstOrThrow();
      for (const site of client.sites) {
        const { id: siteId } = await trx
          .insertInto("sites")
          .values({ client_id: clientId, name: site.name, slug: site.slug ?? null, bastion: site.bastion })
          .onConflict((oc) =>
            oc.columns(["client_id", "name"]).doUpdateSet({ bastion: sql`coalesce(excluded.bastion, sites.bastion)`, slug: sql`coalesce(excluded.slug, sites.slug)` }),
          )
          .returning("id")
          .executeTakeFirstOrThrow();
        for (const host of site.hosts) {
          const { outcome, stored } = await mergePlacedHost(trx, siteId, host);
          result[outcome]++;
          if (host.agentId && (await attachAgent(trx, stored, host.agentId))) result.adopted++;
        }
      }
    }
    const problems = topologyProblems(await loadTopology(trx), merged).filter((p) => !before.has(p));
    if (problems.length) throw problemsError("the topology after this import", problems);
    return result;
  });
}
