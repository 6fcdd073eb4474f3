// A host's container listing into the map, in one transaction: each container a host of
// kind container under the reporting host, merged with a host a person declared (same site,
// by name, address or MAC; a person's facts are never overwritten), gone only after a
// complete listing without it, kept and marked stale when the engine did not answer, and
// the changes as InventoryEvents (published by sync.ts once committed).
import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { InventoryEvent } from "../../../proto/gen/netmap/v1/inventory.ts";
import type { Container, HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Db, Tx } from "../db/database.ts";
import type { ContainerDetail } from "../http/api-types.ts";
import { insertDiscoveredHost, moveDiscoveredHost, setDiscoveredAddresses, stateDiscoveredFacts, type DiscoveredFacts } from "../hosts/writes.ts";
import { isValidName } from "../topology/names.ts";

export const COMPOSE_PROJECT = "com.docker.compose.project";
export const COMPOSE_SERVICE = "com.docker.compose.service";

/** What the map keeps of a listed container: no figures (they change every report). */
export type ContainerFacts = Pick<ContainerDetail, "name" | "containerId" | "engine" | "image" | "state" | "health" | "startedAt" | "networks" | "ports" | "labels">;

/** A report's listing: the containers, and whether the list is complete (the engine answered) or why not. */
export interface Listing {
  containers: ContainerFacts[];
  engine: { name: string; socket: string } | null;
  /** null when complete. */
  staleReason: string | null;
}

export function listingOf(report: HostReport): Listing {
  const containers = report.containers.map(factsOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (report.containerEngine) return { containers, engine: { ...report.containerEngine }, staleReason: null };
  const run = report.collectors.find((c) => c.name === "containers");
  return { containers, engine: null, staleReason: run && !run.success ? `the container engine did not answer: ${run.error}` : "the agent listed no container engine" };
}

function factsOf(c: Container): ContainerFacts {
  const labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    name: c.name, containerId: c.id, engine: c.engine, image: c.image, state: c.state, health: c.health,
    startedAt: c.startedAt?.toISOString() ?? null, networks: c.networks.map((n) => ({ name: n.name, address: n.address, mac: n.mac })), ports: c.ports, labels,
  };
}

/** What a listing writes depends on, and nothing else: equal digests, nothing to write. */
export function listingDigest(listing: Listing): string {
  return createHash("sha256").update(JSON.stringify([listing.engine, listing.staleReason === null, listing.containers])).digest("hex");
}

interface ContainerRow {
  host_id: number;
  name: string;
  image: string;
  state: string;
  networks: ContainerFacts["networks"];
  ports: string[];
  labels: Record<string, string>;
  stale_reason: string | null;
  gone_at: Date | null;
  host_name: string;
  host_parent: string | null;
}

/**
 * Writes hostId's listing unless its digest is the stored one or a newer report already
 * moved the host on. Returns the events to publish, or null when nothing was written.
 */
export async function storeListing(db: Db, hostId: number, collectedAt: Date, listing: Listing, at = new Date()): Promise<InventoryEvent[] | null> {
  return db.transaction().execute(async (trx) => {
    // One listing of a host at a time, even across collectors.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`netmap.containers.${hostId}`}))`.execute(trx);
    const { rows: hostRows } = await sql<{ site_id: number | null; name: string; hostname: string; collected_at: Date | null; digest: string | null }>`
      SELECT h.site_id, coalesce(h.name, h.hostname) AS name, h.hostname, h.collected_at, e.digest
      FROM hosts h LEFT JOIN container_engines e ON e.host_id = h.id WHERE h.id = ${hostId}`.execute(trx);
    const parent = hostRows[0];
    // Where the host is placed is part of what was written (the containers' site and parent).
    const digest = createHash("sha256").update(JSON.stringify([listingDigest(listing), parent?.site_id, parent?.name])).digest("hex");
    if (!parent || parent.digest === digest) return null;
    if (parent.collected_at && parent.collected_at.getTime() > collectedAt.getTime()) return null;

    const { rows } = await sql<ContainerRow>`
      SELECT c.host_id, c.name, c.image, c.state, c.networks, c.ports, c.labels, c.stale_reason, c.gone_at,
             coalesce(h.name, h.hostname) AS host_name, h.parent AS host_parent
      FROM containers c JOIN hosts h ON h.id = c.host_id WHERE c.parent_host_id = ${hostId}`.execute(trx);
    const known = new Map(rows.map((r) => [r.name, r]));
    const events: InventoryEvent[] = [];
    const emit = async (change: InventoryEvent["change"], containerHost: number, changed: string[] = []) =>
      events.push(await inventoryEvent(trx, change, containerHost, changed, at));

    await sql`
      INSERT INTO container_engines (host_id, engine, socket, digest, stale_reason, synced_at)
      VALUES (${hostId}, ${listing.engine?.name ?? ""}, ${listing.engine?.socket ?? ""}, ${digest}, ${listing.staleReason}, ${at})
      ON CONFLICT (host_id) DO UPDATE SET
        engine = CASE WHEN excluded.engine = '' THEN container_engines.engine ELSE excluded.engine END,
        socket = CASE WHEN excluded.socket = '' THEN container_engines.socket ELSE excluded.socket END,
        digest = excluded.digest, stale_reason = excluded.stale_reason, synced_at = excluded.synced_at`.execute(trx);

    if (listing.staleReason !== null) {
      // Nothing is known of the engine: every container keeps its last facts, marked stale.
      for (const row of rows) {
        if (row.gone_at || row.stale_reason) continue;
        await sql`UPDATE containers SET stale_reason = ${listing.staleReason} WHERE host_id = ${row.host_id}`.execute(trx);
        await emit("changed", row.host_id, ["stale"]);
      }
      return events;
    }

    for (const c of listing.containers) {
      const previous = known.get(c.name);
      const containerHost = previous?.host_id ?? (await adoptedHost(trx, parent, c)) ?? (await resolveHost(trx, parent.site_id, parent.name, c));
      const parentChanged = await stateFacts(trx, containerHost, parent.name);
      const compose = { project: c.labels[COMPOSE_PROJECT] ?? null, service: c.labels[COMPOSE_SERVICE] ?? null };
      await sql`
        INSERT INTO containers (host_id, parent_host_id, name, container_id, engine, image, state, health, started_at, networks, ports, labels,
                                compose_project, compose_service, stale_reason, seen_at, gone_at)
        VALUES (${containerHost}, ${hostId}, ${c.name}, ${c.containerId}, ${c.engine}, ${c.image}, ${c.state}, ${c.health}, ${c.startedAt},
                ${JSON.stringify(c.networks)}::jsonb, ${c.ports}::text[], ${JSON.stringify(c.labels)}::jsonb, ${compose.project}, ${compose.service}, NULL, ${at}, NULL)
        ON CONFLICT (host_id) DO UPDATE SET
          container_id = excluded.container_id, engine = excluded.engine, image = excluded.image, state = excluded.state, health = excluded.health,
          started_at = excluded.started_at, networks = excluded.networks, ports = excluded.ports, labels = excluded.labels,
          compose_project = excluded.compose_project, compose_service = excluded.compose_service, stale_reason = NULL, seen_at = excluded.seen_at, gone_at = NULL`.execute(trx);
      await setAddresses(trx, containerHost, c);

      if (!previous) await emit("added", containerHost);
      else if (previous.gone_at) await emit("added", containerHost, ["back"]);
      else {
        const changed = changedFacts(previous, c);
        if (parentChanged) changed.unshift("parent");
        if (changed.length) await emit("changed", containerHost, changed);
      }
    }

    // Gone: the listing is complete and it is not in it.
    const listed = new Set(listing.containers.map((c) => c.name));
    for (const row of rows) {
      if (row.gone_at || listed.has(row.name)) continue;
      await sql`UPDATE containers SET gone_at = ${at}, stale_reason = NULL WHERE host_id = ${row.host_id}`.execute(trx);
      await emit("removed", row.host_id);
    }
    return events;
  });
}

/**
 * The container host this container had while its host was unplaced: an agent's unassigned
 * host a person then placed (topology/adoption.ts) is merged away with its container rows, and
 * the container hosts it listed stay under unassigned, their parent its reported hostname.
 * The first listing after it takes each back and moves it to the placed host's site.
 */
async function adoptedHost(trx: Tx, parent: { site_id: number | null; name: string; hostname: string }, c: ContainerFacts): Promise<number | undefined> {
  if (parent.site_id === null) return undefined;
  const { rows } = await sql<{ id: number }>`
    SELECT h.id FROM hosts h
    WHERE h.site_id IS NULL AND h.kind = 'container' AND h.source = 'agent' AND h.agent_id IS NULL
      AND lower(h.parent) = lower(${parent.hostname}) AND lower(h.hostname) = lower(${c.name})
      AND NOT EXISTS (SELECT 1 FROM containers x WHERE x.host_id = h.id)
    ORDER BY h.id LIMIT 1`.execute(trx);
  if (!rows.length) return undefined;
  await moveDiscoveredHost(trx, rows[0]!.id, parent.site_id, await freeName(trx, parent.site_id, parent.name, c));
  return rows[0]!.id;
}

/**
 * The host a newly listed container is: a host of the parent's site that a person declared
 * with its name, one of its addresses or MACs, that no agent reports and no discovery holds;
 * else a new host. A name taken in the site gets "-<parent>", then "-<parent>-<id>".
 */
async function resolveHost(trx: Tx, siteId: number | null, parentName: string, c: ContainerFacts): Promise<number> {
  const addresses = c.networks.map((n) => n.address).filter(Boolean);
  const macs = c.networks.map((n) => n.mac).filter(Boolean);
  const { rows } = await sql<{ id: number }>`
    SELECT h.id FROM hosts h
    WHERE h.site_id IS NOT DISTINCT FROM ${siteId}::bigint AND h.agent_id IS NULL AND h.source = 'person'
      AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.host_id = h.id)
      AND NOT EXISTS (SELECT 1 FROM proxmox_resources r WHERE r.host_id = h.id)
      AND (lower(h.name) = lower(${c.name}) OR h.address = ANY(${addresses}::text[])
           OR EXISTS (SELECT 1 FROM host_interfaces i WHERE i.host_id = h.id AND i.mac = ANY(${macs}::text[])))
    ORDER BY (lower(h.name) = lower(${c.name})) DESC, h.id LIMIT 1`.execute(trx);
  if (rows.length) return rows[0]!.id;
  const name = await freeName(trx, siteId, parentName, c);
  return insertDiscoveredHost(trx, { hostname: c.name, siteId, name, kind: "container", source: "agent" });
}

async function freeName(trx: Tx, siteId: number | null, parentName: string, c: ContainerFacts): Promise<string> {
  const base = isValidName(c.name) ? c.name : `container-${c.containerId.slice(0, 12)}`;
  for (const candidate of [base, `${base}-${parentName}`, `${base}-${parentName}-${c.containerId.slice(0, 12)}`]) {
    const { rows } = await sql`
      SELECT 1 FROM hosts WHERE site_id IS NOT DISTINCT FROM ${siteId}::bigint AND lower(coalesce(name, hostname)) = lower(${candidate})`.execute(trx);
    if (!rows.length && isValidName(candidate)) return candidate;
  }
  return `container-${c.containerId.slice(0, 16)}-${Date.now()}`;
}

/** Kind and parent as the listing states them, unless a person stated them; whether the parent changed. */
async function stateFacts(trx: Tx, hostId: number, parentName: string): Promise<boolean> {
  const { rows } = await sql<{ fact_sources: Record<string, string>; parent: string | null }>`
    SELECT fact_sources, parent FROM hosts WHERE id = ${hostId} FOR UPDATE`.execute(trx);
  const host = rows[0]!;
  const person = (fact: string) => host.fact_sources[fact] === "person";
  const facts: DiscoveredFacts = {};
  if (!person("kind")) facts.kind = "container";
  if (!person("parent")) facts.parent = parentName;
  await stateDiscoveredFacts(trx, hostId, facts, "agent");
  return facts.parent !== undefined && host.parent !== null && host.parent !== parentName;
}

/** The addresses shown for a container host, unless an agent reports on it itself. */
async function setAddresses(trx: Tx, hostId: number, c: ContainerFacts): Promise<void> {
  const { rows } = await sql`SELECT 1 FROM hosts WHERE id = ${hostId} AND agent_id IS NULL`.execute(trx);
  if (rows.length) await setDiscoveredAddresses(trx, hostId, c.networks.map((n) => n.address).filter(Boolean));
}

function changedFacts(previous: ContainerRow, c: ContainerFacts): string[] {
  const changed: string[] = [];
  if (previous.state !== c.state) changed.push("status");
  if (previous.image !== c.image) changed.push("image");
  // jsonb does not keep key order: compare field by field.
  if (JSON.stringify(previous.networks.map((n) => [n.name, n.address, n.mac])) !== JSON.stringify(c.networks.map((n) => [n.name, n.address, n.mac]))) changed.push("interfaces");
  if (previous.ports.join(";") !== c.ports.join(";")) changed.push("ports");
  const labels = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (labels(previous.labels) !== labels(c.labels)) changed.push("labels");
  if (previous.stale_reason !== null) changed.push("stale");
  return changed;
}

async function inventoryEvent(trx: Tx, change: InventoryEvent["change"], hostId: number, changed: string[], at: Date): Promise<InventoryEvent> {
  const { rows } = await sql<{
    name: string; kind: string; parent: string | null; client: string | null; site: string | null; node: string; state: string; image: string;
    networks: ContainerFacts["networks"]; compose_project: string | null; compose_service: string | null; stale_reason: string | null;
  }>`
    SELECT coalesce(h.name, h.hostname) AS name, h.kind, h.parent, cl.name AS client, s.name AS site, coalesce(p.name, p.hostname) AS node,
           c.state, c.image, c.networks, c.compose_project, c.compose_service, c.stale_reason
    FROM containers c JOIN hosts h ON h.id = c.host_id JOIN hosts p ON p.id = c.parent_host_id
    LEFT JOIN sites s ON s.id = h.site_id LEFT JOIN clients cl ON cl.id = s.client_id
    WHERE c.host_id = ${hostId}`.execute(trx);
  const r = rows[0]!;
  const tags = [...(r.compose_project === null ? [] : [`compose.project=${r.compose_project}`]), ...(r.compose_service === null ? [] : [`compose.service=${r.compose_service}`])];
  return {
    change, hostId, client: r.client ?? "", site: r.site ?? "", name: r.name, kind: r.kind, parent: r.parent ?? "", source: "agent",
    cluster: "", node: r.node, vmid: 0, status: r.state, tags, macs: r.networks.map((n) => n.mac).filter(Boolean),
    addresses: r.networks.map((n) => n.address).filter(Boolean), stale: r.stale_reason !== null, changed, at, image: r.image,
  };
}
