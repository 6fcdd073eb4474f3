// Every write to the hosts table, whoever the writer: ingest (an agent's host and its
// latest state), topology import (hosts a person placed), adoption (a person attaching an
// agent or confirming an address) and Proxmox discovery (nodes and guests). Plain functions
// over the caller's transaction; what ingest writes per batch is set-based (unnest,
// json_to_recordset), never a row loop.
import { hash } from "node:crypto";
import { sql } from "kysely";
import { HostReport, OsInfo } from "../../../proto/gen/netmap/v1/report.ts";
import { pgTexts } from "../db/arrays.ts";
import type { Tx } from "../db/database.ts";
import type { TopologyHost } from "../topology/model.ts";
import type { Headline } from "./headline.ts";

/** An agent's host as ingest finds it, locked: its id, and the digest of the interfaces last written to host_interfaces. */
export interface LockedHost {
  id: number;
  interfacesDigest: string | null;
}

/**
 * Creates hosts seen for the first time; returns agent id → host for the whole batch,
 * with the hosts' rows locked until the transaction ends (advanceLatest relies on it).
 * Locked, not updated: an update would write a second version of each host row per batch.
 */
export async function upsertAgentHosts(trx: Tx, reports: Array<{ report: HostReport }>): Promise<Map<string, LockedHost>> {
  const byAgent = new Map<string, string>();
  for (const { report } of reports) byAgent.set(report.agentId, report.hostname || report.agentId);
  // Sorted, so concurrent collectors lock host rows in the same order.
  const agents = [...byAgent.keys()].sort();
  const lock = async (wanted: string[]) => {
    const { rows } = await sql<{ id: number; agent_id: string; interfaces_digest: string | null }>`
      SELECT id, agent_id, interfaces_digest FROM hosts WHERE agent_id = ANY(${pgTexts(wanted)}::text[]) ORDER BY agent_id FOR NO KEY UPDATE`.execute(trx);
    return rows;
  };
  const hosts = new Map((await lock(agents)).map((row) => [row.agent_id, { id: Number(row.id), interfacesDigest: row.interfaces_digest }]));
  const missing = agents.filter((a) => !hosts.has(a));
  if (missing.length) {
    // An agent id a person attached to a host (agent_id: in the topology, netmap adopt) is
    // found above; any other new agent gets a host of its own, unassigned, whatever name or
    // address it reports (topology/adoption.ts). Another collector may create it meanwhile.
    await sql`
      INSERT INTO hosts (agent_id, hostname)
      SELECT * FROM unnest(${pgTexts(missing)}::text[], ${pgTexts(missing.map((a) => byAgent.get(a)!))}::text[])
      ON CONFLICT (agent_id) DO NOTHING`.execute(trx);
    for (const row of await lock(missing)) hosts.set(row.agent_id, { id: Number(row.id), interfacesDigest: row.interfaces_digest });
  }
  return hosts;
}

/** A report that may become its host's latest state. */
export interface LatestState {
  hostId: number;
  /** hosts.interfaces_digest as read under the row lock (upsertAgentHosts). */
  storedInterfacesDigest: string | null;
  report: HostReport;
  /** The report's protobuf as received (codec.ts decodeReceivedReport); encoded from `report` when absent. */
  bytes?: Uint8Array;
  receivedAt: Date;
  headline: Headline;
}

/**
 * Whether report `a` comes after `b` of the same host. Within one boot the agent's
 * sequence decides (it only goes up, across agent restarts too: identity.ts), so a
 * clock set back mid-boot cannot freeze the latest state on a report dated in the
 * future; across boots, collected_at is all there is. advanceLatest's WHERE is the
 * same rule in SQL: change both together.
 */
export function isLaterReport(a: HostReport, b: HostReport): boolean {
  return a.bootId === b.bootId ? a.seq > b.seq : a.collectedAt!.getTime() > b.collectedAt!.getTime();
}

/**
 * Moves each host's latest state forward; a report older than the stored one
 * (a spool replay arriving after fresher reports) stays only in the series.
 * "Older": a lower seq of the same boot, else an earlier collected_at (isLaterReport).
 * Returns the reports that became their host's latest, each saying whether its
 * interfaces differ from those last written to host_interfaces (interfacesDigest).
 * The caller holds the hosts' row locks (upsertAgentHosts), so the previous digest
 * it read with them is the committed one, whatever another collector does.
 */
export async function advanceLatest<T extends LatestState>(trx: Tx, reports: T[]): Promise<Array<T & { interfacesChanged: boolean }>> {
  if (!reports.length) return [];
  // The headline columns as one JSON document rather than sixteen arrays; the reports'
  // protobuf bytes beside it, all in one binary parameter that each row takes its slice of
  // (PostgreSQL parsing the report as JSON was once the costliest step of ingest; an array of
  // bytea travels as hex text, twice the size, escaped element by element by the driver).
  const bytes = reports.map((r) => r.bytes ?? HostReport.encode(r.report).finish());
  const at: number[] = [];
  for (let i = 0, next = 1; i < bytes.length; next += bytes[i++]!.length) at.push(next); // substring() counts from 1
  const digests = reports.map((r) => interfacesDigest(r.report));
  const rows = reports.map((r, i) => ({
    report_at: at[i],
    report_length: bytes[i]!.length,
    id: r.hostId,
    hostname: r.report.hostname || r.report.agentId,
    collected_at: r.report.collectedAt!.toISOString(),
    received_at: r.receivedAt.toISOString(),
    boot_id: r.report.bootId,
    seq: r.report.seq,
    interval_seconds: r.report.intervalSeconds || null,
    cpu_percent: r.headline.cpuPercent,
    memory_percent: r.headline.memoryPercent,
    load1: r.report.cpu?.load1 ?? null,
    logical_cores: r.report.cpu?.logicalCores ?? null,
    memory_total_bytes: r.report.memory?.totalBytes ?? null,
    fullest_mountpoint: r.headline.fullestMount?.mountpoint ?? null,
    fullest_mount_percent: r.headline.fullestMount?.usedPercent ?? null,
    addresses: r.headline.addresses,
    interfaces_digest: digests[i],
    os: r.report.os ? OsInfo.toJSON(r.report.os) : null,
    agent_version: r.report.agentVersion || null,
  }));
  const { rows: advancedRows } = await sql<{ id: number }>`
    UPDATE hosts h SET
      hostname = n.hostname, collected_at = n.collected_at, received_at = n.received_at,
      boot_id = n.boot_id, seq = n.seq, interval_seconds = n.interval_seconds,
      cpu_percent = n.cpu_percent, memory_percent = n.memory_percent, load1 = n.load1,
      logical_cores = n.logical_cores, memory_total_bytes = n.memory_total_bytes,
      fullest_mountpoint = n.fullest_mountpoint, fullest_mount_percent = n.fullest_mount_percent,
      addresses = n.addresses, interfaces_digest = n.interfaces_digest, os = n.os, agent_version = n.agent_version,
      report = substring(${Buffer.concat(bytes)}::bytea FROM n.report_at FOR n.report_length)
    FROM json_to_recordset(${JSON.stringify(rows)}::json) AS n(
      id bigint, hostname text, collected_at timestamptz, received_at timestamptz, boot_id text, seq bigint,
      interval_seconds float8, cpu_percent float8, memory_percent float8, load1 float8, logical_cores int,
      memory_total_bytes bigint, fullest_mountpoint text, fullest_mount_percent float8, addresses text[],
      interfaces_digest text, os jsonb, agent_version text, report_at int, report_length int)
    WHERE h.id = n.id AND (h.collected_at IS NULL
      -- (boot, seq), not the agent's clock, orders one boot's reports (isLaterReport); collected_at across boots.
      OR CASE WHEN h.boot_id = n.boot_id THEN h.seq < n.seq ELSE h.collected_at <= n.collected_at END)
    RETURNING h.id`.execute(trx);
  const advanced = new Set(advancedRows.map((row) => Number(row.id)));
  return reports.flatMap((r, i) => (advanced.has(r.hostId) ? [{ ...r, interfacesChanged: digests[i] !== r.storedInterfacesDigest }] : []));
}

/** The interfaces of a report as host_interfaces holds them, digested: equal digests, nothing to rewrite. */
export function interfacesDigest(report: HostReport): string {
  const stored = report.interfaces.map((i) => [i.name, i.mac, i.addresses.map((a) => `${a.address}/${a.prefixLength}`), i.up, i.virtual]);
  return hash("sha256", JSON.stringify(stored), "base64url").slice(0, 22);
}

/**
 * Creates a host a person placed, or updates it with what the topology states, keyed on
 * (site, name); what the topology leaves out (no address, no user, no via) keeps its
 * stored value.
 */
export async function mergePlacedHost(trx: Tx, siteId: number, host: TopologyHost): Promise<{ outcome: "created" | "updated"; stored: { id: number; name: string; agent_id: string | null } }> {
  const stated: Record<string, unknown> = { kind: host.kind, ssh_port: host.ssh.port };
  if (host.slug != null) stated.slug = host.slug;
  if (host.address !== null) stated.address = host.address;
  if (host.ssh.user !== null) stated.ssh_user = host.ssh.user;
  if (host.via !== null) stated.via = host.via;
  if (host.parent !== null) stated.parent = host.parent;
  const facts = JSON.stringify(Object.fromEntries(["name", ...Object.keys(stated), ...(Object.keys(host.labels).length ? ["labels"] : [])].map((k) => [k, host.source])));
  const set = {
    ...stated,
    labels: sql<string>`hosts.labels || ${JSON.stringify(host.labels)}::jsonb`,
    fact_sources: sql<string>`hosts.fact_sources || ${facts}::jsonb`,
  };

  const existing = await trx.selectFrom("hosts").select(["id", "agent_id"]).where("site_id", "=", siteId).where("name", "=", host.name).executeTakeFirst();
  if (existing) {
    await trx.updateTable("hosts").set(set).where("id", "=", existing.id).execute();
    return { outcome: "updated", stored: { ...existing, name: host.name } };
  }
  const { id } = await trx
    .insertInto("hosts")
    .values({
      hostname: host.name,
      site_id: siteId,
      name: host.name,
      slug: host.slug ?? null,
      kind: host.kind,
      address: host.address,
      ssh_user: host.ssh.user,
      ssh_port: host.ssh.port,
      via: host.via,
      parent: host.parent,
      labels: JSON.stringify(host.labels),
      source: host.source,
      fact_sources: facts,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { outcome: "created", stored: { id, name: host.name, agent_id: null } };
}

/** The address SSH uses, as a person confirmed it. */
export async function confirmAddress(trx: Tx, hostId: number, address: string): Promise<void> {
  await sql`UPDATE hosts SET address = ${address}, fact_sources = fact_sources || '{"address":"person"}'::jsonb WHERE id = ${hostId}`.execute(trx);
}

export async function setAgent(trx: Tx, hostId: number, agentId: string): Promise<void> {
  await sql`UPDATE hosts SET agent_id = ${agentId} WHERE id = ${hostId}`.execute(trx);
}

/** The latest state of an agent's unassigned host moves onto the host it is adopted as; the unassigned host is removed. */
export async function absorbAgentHost(trx: Tx, from: number, to: number): Promise<void> {
  await sql`
    UPDATE hosts d SET
      hostname = a.hostname, first_seen = least(d.first_seen, a.first_seen), collected_at = a.collected_at, received_at = a.received_at,
      boot_id = a.boot_id, seq = a.seq, interval_seconds = a.interval_seconds, cpu_percent = a.cpu_percent,
      memory_percent = a.memory_percent, load1 = a.load1, logical_cores = a.logical_cores, memory_total_bytes = a.memory_total_bytes,
      fullest_mountpoint = a.fullest_mountpoint, fullest_mount_percent = a.fullest_mount_percent, addresses = a.addresses, report = a.report, os = a.os, interfaces_digest = a.interfaces_digest,
      -- An address a person confirmed on the unassigned host stays confirmed.
      address = coalesce(d.address, CASE WHEN a.fact_sources ->> 'address' = 'person' THEN a.address END),
      fact_sources = d.fact_sources || CASE WHEN d.address IS NULL AND a.fact_sources ->> 'address' = 'person' THEN '{"address":"person"}'::jsonb ELSE '{}'::jsonb END
    FROM hosts a WHERE d.id = ${to} AND a.id = ${from}`.execute(trx);
  await sql`DELETE FROM hosts WHERE id = ${from}`.execute(trx);
}

/** Who discovers hosts: Proxmox (nodes and guests), the SNMP poller (network devices), agents (the containers they list). */
export type Discoverer = "proxmox" | "snmp" | "agent";

/** The site of a discovery's configured client and site, created if new. */
export async function ensureClientSite(trx: Tx, client: string, site: string): Promise<number> {
  const { rows: c } = await sql<{ id: number }>`
    INSERT INTO clients (name) VALUES (${client}) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`.execute(trx);
  const { rows: s } = await sql<{ id: number }>`
    INSERT INTO sites (client_id, name) VALUES (${c[0]!.id}, ${site})
    ON CONFLICT (client_id, name) DO UPDATE SET name = excluded.name RETURNING id`.execute(trx);
  return s[0]!.id;
}

/** A node, guest, network device or container that no host stands for yet (a container of an unplaced host has no site). */
export async function insertDiscoveredHost(trx: Tx, host: { hostname: string; siteId: number | null; name: string; kind: string; source?: Discoverer }): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    INSERT INTO hosts (hostname, site_id, name, kind, source) VALUES (${host.hostname}, ${host.siteId}, ${host.name}, ${host.kind}, ${host.source ?? "proxmox"})
    RETURNING id`.execute(trx);
  return rows[0]!.id;
}

/** What a discoverer states about a host; a fact left out keeps its value (a person stated it). */
export interface DiscoveredFacts {
  kind?: string;
  /** null: a node, which has no parent. */
  parent?: string | null;
  name?: string;
}

/** Records each fact given as the discoverer's. */
export async function stateDiscoveredFacts(trx: Tx, hostId: number, facts: DiscoveredFacts, source: Discoverer = "proxmox"): Promise<void> {
  const sources = JSON.stringify(Object.fromEntries(Object.keys(facts).map((k) => [k, source])));
  await sql`
    UPDATE hosts SET
      kind = coalesce(${facts.kind ?? null}::text, kind),
      parent = CASE WHEN ${"parent" in facts}::boolean THEN ${facts.parent ?? null}::text ELSE parent END,
      name = coalesce(${facts.name ?? null}::text, name),
      fact_sources = fact_sources || ${sources}::jsonb
    WHERE id = ${hostId}`.execute(trx);
}

/**
 * The address SSH uses, as a discoverer states it (a Proxmox node's managed address, from the
 * PVE API the collector authenticated): never over an address a person wrote or confirmed.
 */
export async function stateDiscoveredAddress(trx: Tx, hostId: number, address: string, source: Discoverer = "proxmox"): Promise<void> {
  await sql`
    UPDATE hosts SET address = ${address}, fact_sources = fact_sources || ${JSON.stringify({ address: source })}::jsonb
    WHERE id = ${hostId} AND coalesce(fact_sources ->> 'address', '') <> 'person'`.execute(trx);
}

/** A discovered host moves to another site under a name free there (its parent, a host an agent reports, was placed). */
export async function moveDiscoveredHost(trx: Tx, hostId: number, siteId: number | null, name: string): Promise<void> {
  await sql`UPDATE hosts SET site_id = ${siteId}, name = ${name} WHERE id = ${hostId}`.execute(trx);
}

/** The addresses shown for a host only a discoverer describes. */
export async function setDiscoveredAddresses(trx: Tx, hostId: number, addresses: string[]): Promise<void> {
  await sql`UPDATE hosts SET addresses = ${addresses}::text[] WHERE id = ${hostId}`.execute(trx);
}
