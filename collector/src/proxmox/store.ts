// A discovery cycle into the map, in one transaction: each node a hypervisor
// host, each guest a vm/container under it, merged with hosts a person declared
// (never overwriting a person's facts), interfaces an agent's claim is matched
// against by MAC/IP, series of figures, and the changes as InventoryEvents.
import { sql } from "kysely";
import type { InventoryEvent } from "../../../proto/gen/netmap/v1/inventory.ts";
import type { Db, Tx } from "../db/database.ts";
import { ensureClientSite, insertDiscoveredHost, setDiscoveredAddresses, stateDiscoveredAddress, stateDiscoveredFacts, type DiscoveredFacts } from "../hosts/writes.ts";
import type { ProxmoxClusterConfig } from "./config.ts";
import type { DiscoveredGuest, DiscoveredNode, Inventory } from "./discovery.ts";
import { guestAddresses, type Figures, type GuestInterface } from "./parse.ts";

type ResourceType = "node" | "qemu" | "lxc";

interface ResourceRow {
  host_id: number;
  type: ResourceType;
  node: string;
  vmid: number;
  name: string;
  status: string;
  tags: string[];
  interfaces: GuestInterface[];
  latest: Latest;
  stale_reason: string | null;
  gone_at: Date | null;
}

/** Figures as stored in proxmox_resources.latest: the counters rates come from, and the rates. */
interface Latest extends Partial<Figures> {
  at?: string;
  netinRate?: number | null;
  netoutRate?: number | null;
  diskreadRate?: number | null;
  diskwriteRate?: number | null;
}

interface Resource {
  type: ResourceType;
  node: string;
  vmid: number;
  name: string;
  status: string;
  tags: string[];
  interfaces: GuestInterface[] | null;
  agent: string | null;
  figures: Figures;
  staleReason: string | null;
}

const kindOf = (type: ResourceType) => (type === "node" ? "hypervisor" : type === "qemu" ? "vm" : "container");
const keyOf = (type: ResourceType, node: string, vmid: number) => (type === "node" ? `node/${node}` : `guest/${vmid}`);

export async function storeInventory(db: Db, cluster: ProxmoxClusterConfig, inventory: Inventory): Promise<InventoryEvent[]> {
  return db.transaction().execute(async (trx) => {
    // Cycles of one cluster never interleave, even across several collectors.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`netmap.proxmox.${cluster.name}`}))`.execute(trx);
    const siteId = await ensureClientSite(trx, cluster.client, cluster.site);
    const { rows } = await sql<ResourceRow>`
      SELECT host_id, type, node, vmid, name, status, tags, interfaces, latest, stale_reason, gone_at
      FROM proxmox_resources WHERE cluster = ${cluster.name}`.execute(trx);
    const known = new Map(rows.map((r) => [keyOf(r.type, r.node, r.vmid), r]));
    const at = inventory.at;
    const events: InventoryEvent[] = [];
    const emit = async (change: InventoryEvent["change"], hostId: number, changed: string[] = []) =>
      events.push(await inventoryEvent(trx, change, hostId, changed, at));

    if (!inventory.listed) {
      // Nothing is known this cycle: everything keeps its last state, marked stale.
      const reason = inventory.failures[0]?.message ?? "listing failed";
      for (const row of rows) {
        if (row.gone_at || row.stale_reason) continue;
        await sql`UPDATE proxmox_resources SET stale_reason = ${reason} WHERE host_id = ${row.host_id}`.execute(trx);
        await emit("changed", row.host_id, ["stale"]);
      }
      return events;
    }

    const listed = new Set<string>();
    const resources: Resource[] = [
      ...inventory.nodes.map((n: DiscoveredNode): Resource => ({
        type: "node", node: n.node, vmid: 0, name: n.node, status: n.status, tags: [], interfaces: [], agent: null, figures: n.figures, staleReason: n.staleReason,
      })),
      ...inventory.guests.map((g: DiscoveredGuest): Resource => ({
        type: g.type, node: g.node, vmid: g.vmid, name: g.name, status: g.status, tags: g.tags, interfaces: g.interfaces, agent: g.agent, figures: g.figures, staleReason: g.staleReason,
      })),
    ];
    const nodeHosts = new Map<string, number>();
    for (const resource of resources) {
      const key = keyOf(resource.type, resource.node, resource.vmid);
      listed.add(key);
      const previous = known.get(key);
      const interfaces = resource.interfaces ?? previous?.interfaces ?? [];
      const hostId = previous?.host_id ?? (await resolveHost(trx, siteId, resource));
      if (resource.type === "node") nodeHosts.set(resource.node, hostId);
      await stateFacts(trx, hostId, siteId, resource);
      const latest = nextLatest(previous?.latest, resource, at);
      await sql`
        INSERT INTO proxmox_resources (host_id, cluster, type, node, vmid, name, status, tags, agent, interfaces, latest, stale_reason, seen_at, gone_at)
        VALUES (${hostId}, ${cluster.name}, ${resource.type}, ${resource.node}, ${resource.vmid}, ${resource.name}, ${resource.status},
                ${resource.tags}::text[], ${resource.agent}, ${JSON.stringify(interfaces)}::jsonb, ${JSON.stringify(latest)}::jsonb,
                ${resource.staleReason}, ${at}, NULL)
        ON CONFLICT (host_id) DO UPDATE SET
          node = excluded.node, name = excluded.name, status = excluded.status, tags = excluded.tags,
          agent = coalesce(excluded.agent, proxmox_resources.agent), interfaces = excluded.interfaces, latest = excluded.latest,
          stale_reason = excluded.stale_reason, seen_at = excluded.seen_at, gone_at = NULL`.execute(trx);
      if (resource.type !== "node") await replaceInterfaces(trx, hostId, interfaces, resource.status === "running");
      if (resource.staleReason === null) await insertSample(trx, hostId, resource, latest, at);

      if (!previous) await emit("added", hostId);
      else if (previous.gone_at) await emit("added", hostId, ["back"]);
      else {
        const changed = changedFacts(previous, resource, interfaces);
        if (changed.length) await emit("changed", hostId, changed);
      }
    }

    // Each guest's newest backup, when every backup storage was listed (else the last known one stays).
    if (inventory.backups?.complete) {
      for (const g of inventory.guests) {
        const b = inventory.backups.latest.get(g.vmid);
        await sql`
          UPDATE proxmox_resources SET last_backup_at = ${b?.at ?? null}, last_backup_bytes = ${b?.sizeBytes ?? null}, last_backup_volid = ${b?.volid ?? null}, backups_checked_at = ${at}
          WHERE cluster = ${cluster.name} AND type = ${g.type} AND vmid = ${g.vmid} AND gone_at IS NULL`.execute(trx);
      }
    }

    // A node's managed address is its SSH address (unless a person gave one), so the routes to
    // its guests go through it; its configured addresses are shown unless an agent reports its own.
    for (const node of inventory.nodes) {
      const hostId = nodeHosts.get(node.node);
      if (hostId === undefined || !node.network) continue;
      if (node.network.address) await stateDiscoveredAddress(trx, hostId, node.network.address);
      const { rows: agentless } = await sql`SELECT 1 FROM hosts WHERE id = ${hostId} AND agent_id IS NULL`.execute(trx);
      if (agentless.length) await setDiscoveredAddresses(trx, hostId, node.network.addresses);
    }

    for (const node of inventory.nodes) {
      const hostId = nodeHosts.get(node.node);
      if (hostId === undefined || !node.storage) continue;
      for (const s of node.storage) {
        await sql`
          INSERT INTO proxmox_storage_samples (host_id, storage, collected_at, type, shared, active, total_bytes, used_bytes, available_bytes)
          VALUES (${hostId}, ${s.storage}, ${at}, ${s.type}, ${s.shared}, ${s.active}, ${s.total}, ${s.used}, ${s.avail})
          ON CONFLICT DO NOTHING`.execute(trx);
      }
    }

    // Gone only after a complete listing without it; a guest of a node that did
    // not answer is never gone (a complete listing has every node answering).
    const unreachable = new Set(inventory.nodes.filter((n) => n.staleReason !== null).map((n) => n.node));
    for (const row of rows) {
      if (row.gone_at || listed.has(keyOf(row.type, row.node, row.vmid))) continue;
      if (inventory.complete && !unreachable.has(row.node)) {
        await sql`UPDATE proxmox_resources SET gone_at = ${at}, stale_reason = NULL WHERE host_id = ${row.host_id}`.execute(trx);
        await emit("removed", row.host_id);
      } else if (!row.stale_reason) {
        await sql`UPDATE proxmox_resources SET stale_reason = ${"not in this cycle's listing, which was incomplete"} WHERE host_id = ${row.host_id}`.execute(trx);
        await emit("changed", row.host_id, ["stale"]);
      }
    }
    return events;
  });
}

/**
 * The host a newly listed node or guest is: a host of the site with its name that no
 * other Proxmox resource holds (a person declared it), else a new host. Names stay
 * unique per site: a clash gets "-<vmid>". A host an agent reported is never taken
 * over, whatever MAC, address or name it reports: it claims the guest, and a person
 * confirms (topology/adoption.ts).
 */
async function resolveHost(trx: Tx, siteId: number, resource: Resource): Promise<number> {
  const declared = await sql<{ id: number }>`
    SELECT h.id FROM hosts h WHERE h.site_id = ${siteId} AND lower(h.name) = lower(${resource.name})
      AND NOT EXISTS (SELECT 1 FROM proxmox_resources r WHERE r.host_id = h.id)`.execute(trx);
  if (declared.rows.length === 1) return declared.rows[0]!.id;
  const name = await freeName(trx, siteId, resource);
  return insertDiscoveredHost(trx, { hostname: resource.name, siteId, name, kind: kindOf(resource.type) });
}

async function freeName(trx: Tx, siteId: number, resource: Resource, except?: number): Promise<string> {
  for (const candidate of [resource.name, `${resource.name}-${resource.vmid}`, `${resource.name}-${resource.type}-${resource.vmid}`]) {
    const { rows } = await sql`SELECT 1 FROM hosts WHERE site_id = ${siteId} AND lower(name) = lower(${candidate}) AND id IS DISTINCT FROM ${except ?? null}::bigint`.execute(trx);
    if (!rows.length) return candidate;
  }
  return `${resource.name}-${resource.type}-${resource.vmid}-${Date.now()}`;
}

/** What Proxmox states about a host — kind, parent node, name — unless a person stated it. */
async function stateFacts(trx: Tx, hostId: number, siteId: number, resource: Resource): Promise<void> {
  const { rows } = await sql<{ fact_sources: Record<string, string>; name: string | null; site_id: number | null }>`
    SELECT fact_sources, name, site_id FROM hosts WHERE id = ${hostId} FOR UPDATE`.execute(trx);
  const host = rows[0]!;
  const person = (fact: string) => host.fact_sources[fact] === "person";
  const facts: DiscoveredFacts = {};
  if (!person("kind")) facts.kind = kindOf(resource.type);
  if (!person("parent")) facts.parent = resource.type === "node" ? null : resource.node;
  if (!person("name") && host.site_id === siteId && host.name?.toLowerCase() !== resource.name.toLowerCase()) {
    facts.name = await freeName(trx, siteId, resource, hostId);
  }
  await stateDiscoveredFacts(trx, hostId, facts);
}

/** Interfaces and addresses of a host only Proxmox describes; an agent's own report wins where there is one. */
async function replaceInterfaces(trx: Tx, hostId: number, interfaces: GuestInterface[], up: boolean): Promise<void> {
  const { rows } = await sql`SELECT 1 FROM hosts WHERE id = ${hostId} AND agent_id IS NULL`.execute(trx);
  if (!rows.length) return;
  await sql`DELETE FROM host_interfaces WHERE host_id = ${hostId}`.execute(trx);
  for (const i of interfaces) {
    await sql`
      INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual)
      VALUES (${hostId}, ${i.name}, ${i.mac}, ${i.addresses}::text[], ${up}, false)`.execute(trx);
  }
  await setDiscoveredAddresses(trx, hostId, guestAddresses(interfaces));
}

/** Counters to rates: bytes per second since the previous cycle; none across a restart (counter went back). */
function nextLatest(previous: Latest | undefined, resource: Resource, at: Date): Latest {
  if (resource.staleReason !== null && previous) return previous;
  const f = resource.figures;
  const dt = previous?.at ? (at.getTime() - Date.parse(previous.at)) / 1000 : 0;
  const rate = (now: number | null, before: number | null | undefined) =>
    now !== null && before !== null && before !== undefined && dt > 0 && now >= before ? (now - before) / dt : null;
  return {
    ...f,
    at: at.toISOString(),
    netinRate: rate(f.netin, previous?.netin),
    netoutRate: rate(f.netout, previous?.netout),
    diskreadRate: rate(f.diskread, previous?.diskread),
    diskwriteRate: rate(f.diskwrite, previous?.diskwrite),
  };
}

async function insertSample(trx: Tx, hostId: number, resource: Resource, latest: Latest, at: Date): Promise<void> {
  const f = resource.figures;
  await sql`
    INSERT INTO proxmox_samples (host_id, collected_at, status, cpu_percent, cpus, memory_used_bytes, memory_total_bytes,
      disk_used_bytes, disk_total_bytes, network_rx_bytes_per_second, network_tx_bytes_per_second,
      disk_read_bytes_per_second, disk_write_bytes_per_second, uptime_seconds)
    VALUES (${hostId}, ${at}, ${resource.status}, ${f.cpu === null ? null : f.cpu * 100}, ${f.maxcpu}, ${f.mem}, ${f.maxmem},
      ${f.disk}, ${f.maxdisk}, ${latest.netinRate ?? null}, ${latest.netoutRate ?? null},
      ${latest.diskreadRate ?? null}, ${latest.diskwriteRate ?? null}, ${f.uptime === null ? null : Math.round(f.uptime)})
    ON CONFLICT DO NOTHING`.execute(trx);
}

function changedFacts(previous: ResourceRow, resource: Resource, interfaces: GuestInterface[]): string[] {
  const changed: string[] = [];
  if (previous.name !== resource.name) changed.push("name");
  if (previous.node !== resource.node && resource.type !== "node") changed.push("parent");
  if (previous.status !== resource.status) changed.push("status");
  if (previous.tags.join(";") !== resource.tags.join(";")) changed.push("tags");
  // jsonb does not keep key order: compare field by field.
  const canonical = (list: GuestInterface[]) => JSON.stringify(list.map((i) => [i.name, i.mac, i.addresses]));
  if (canonical(previous.interfaces) !== canonical(interfaces)) changed.push("interfaces");
  if ((previous.stale_reason === null) !== (resource.staleReason === null)) changed.push("stale");
  return changed;
}

async function inventoryEvent(trx: Tx, change: InventoryEvent["change"], hostId: number, changed: string[], at: Date): Promise<InventoryEvent> {
  const { rows } = await sql<{
    name: string; kind: string; parent: string | null; client: string | null; site: string | null; cluster: string; node: string;
    vmid: number; status: string; tags: string[]; interfaces: GuestInterface[]; stale_reason: string | null;
  }>`
    SELECT coalesce(h.name, h.hostname) AS name, h.kind, h.parent, c.name AS client, s.name AS site,
           r.cluster, r.node, r.vmid, r.status, r.tags, r.interfaces, r.stale_reason
    FROM proxmox_resources r JOIN hosts h ON h.id = r.host_id
    LEFT JOIN sites s ON s.id = h.site_id LEFT JOIN clients c ON c.id = s.client_id
    WHERE r.host_id = ${hostId}`.execute(trx);
  const r = rows[0]!;
  return {
    change, hostId, client: r.client ?? "", site: r.site ?? "", name: r.name, kind: r.kind, parent: r.parent ?? "", source: "proxmox",
    cluster: r.cluster, node: r.node, vmid: r.vmid, status: r.status, tags: r.tags,
    macs: r.interfaces.map((i) => i.mac), addresses: guestAddresses(r.interfaces), stale: r.stale_reason !== null, changed, at, image: "",
  };
}
