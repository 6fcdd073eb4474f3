// Adoption: an agent is linked to a host a person placed (or Proxmox discovered) only when
// a person says so. What an agent reports — its hostname, addresses, MACs — is the word of
// whoever has root on that machine or its NATS credential, so a match with a placed host is
// only a claim: the agent's reports go to its own unassigned host, and the claim is shown
// (netmap hosts, the API) until a person confirms it with `netmap adopt`, or states
// `agent_id:` for the host in the topology file (pre-registration). Likewise an address an
// agent or Proxmox reports is shown, and SSH uses it only once a person confirms it.
import { sql } from "kysely";
import { isAgentId } from "../../../proto/src/subjects.ts";
import type { Db, Tx } from "../db/database.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { absorbAgentHost, confirmAddress, setAgent } from "../hosts/writes.ts";
import { SERIES_TABLES, TIERS, tierTable } from "../series/catalogue.ts";
import { isValidAddress } from "./names.ts";

type Queryable = Db | Tx;

/** An unassigned agent's host that reports what a placed host without an agent is known by. */
export interface Claim {
  agentHostId: number;
  agentId: string;
  hostId: number;
  /** CLIENT/SITE/NAME of the claimed host. */
  host: string;
  matchedBy: "name" | "address" | "mac";
}

const NO_MAC = ["", "00:00:00:00:00:00"];

/** Every open claim, or those on one host. Computed from what is stored, so the order of import and first report does not matter. */
export async function listClaims(db: Queryable, onHost?: number, byAgentHost?: number): Promise<Claim[]> {
  const { rows } = await sql<Claim>`
    SELECT a.id AS "agentHostId", a.agent_id AS "agentId", d.id AS "hostId", c.name || '/' || s.name || '/' || d.name AS host,
           CASE WHEN lower(d.name) IN (lower(a.hostname), lower(split_part(a.hostname, '.', 1))) THEN 'name'
                WHEN d.address = ANY(a.addresses) OR d.addresses && a.addresses THEN 'address' ELSE 'mac' END AS "matchedBy"
    FROM hosts a
    JOIN hosts d ON d.site_id IS NOT NULL AND d.agent_id IS NULL
    JOIN sites s ON s.id = d.site_id
    JOIN clients c ON c.id = s.client_id
    WHERE a.agent_id IS NOT NULL AND a.site_id IS NULL AND (${onHost ?? null}::bigint IS NULL OR d.id = ${onHost ?? null}::bigint)
      AND (${byAgentHost ?? null}::bigint IS NULL OR a.id = ${byAgentHost ?? null}::bigint)
      AND (lower(d.name) IN (lower(a.hostname), lower(split_part(a.hostname, '.', 1)))
           OR d.address = ANY(a.addresses) OR d.addresses && a.addresses
           OR EXISTS (SELECT 1 FROM host_interfaces ai JOIN host_interfaces di ON lower(di.mac) = lower(ai.mac)
                      WHERE ai.host_id = a.id AND di.host_id = d.id AND NOT ai.virtual AND lower(ai.mac) <> ALL(${NO_MAC}::text[])))
    ORDER BY a.id, host`.execute(db);
  return rows;
}

/** Agent's host id → CLIENT/SITE/NAME of each host it claims (of agent host `only`, if given): what the host list and the topology show. */
export async function claimsByAgentHost(db: Queryable, only?: number): Promise<Map<number, string[]>> {
  const byHost = new Map<number, string[]>();
  for (const claim of await listClaims(db, undefined, only)) byHost.set(claim.agentHostId, [...(byHost.get(claim.agentHostId) ?? []), claim.host]);
  return byHost;
}

export interface AdoptRequest {
  /** The agent to attach; absent: the one agent that claims the host. */
  agentId?: string | undefined;
  /** The address to confirm; absent: the host's stated address, else the first it reports. */
  address?: string | undefined;
}

export interface Adoption {
  agentId: string | null;
  /** The address SSH now uses. */
  address: string | null;
  agentAttached: boolean;
  addressConfirmed: boolean;
}

interface HostFacts {
  id: number;
  /** Its topology name, or the hostname its agent reports. */
  name: string;
  agent_id: string | null;
  site_id: number | null;
  address: string | null;
  addresses: string[];
}

const lockHost = async (trx: Tx, id: number): Promise<HostFacts | undefined> =>
  (await sql<HostFacts>`SELECT id, coalesce(name, hostname) AS name, agent_id, site_id, address, addresses FROM hosts WHERE id = ${id} FOR UPDATE`.execute(trx)).rows[0];

/**
 * A person vouches for a host: the agent named (or the one claiming it) is attached, and
 * an address is confirmed — the one given, else the one a person wrote, else the first the
 * host reports. Refused (BAD_REQUEST) when several agents claim it and none is named, when
 * it has another agent, or when a reported address is not an IP address or DNS name.
 */
export async function adoptHost(db: Db, hostId: number, request: AdoptRequest = {}): Promise<Adoption> {
  if (request.agentId !== undefined && !isAgentId(request.agentId)) {
    throw new BadRequestError(`agent id ${JSON.stringify(request.agentId)}: expected 1-64 characters of [a-z0-9_-]`);
  }
  if (request.address !== undefined && !isValidAddress(request.address)) {
    throw new BadRequestError(`address ${JSON.stringify(request.address)} is not an IP address or DNS name`);
  }
  return db.transaction().execute(async (trx) => {
    const host = await lockHost(trx, hostId);
    if (!host) throw new NotFoundError(`no host with id ${hostId}`);
    let agentId = request.agentId;
    if (agentId === undefined && host.agent_id === null && host.site_id !== null) {
      const claims = await listClaims(trx, hostId);
      if (claims.length > 1) {
        throw new BadRequestError(`${claims[0]!.host} is claimed by several agents (${claims.map((c) => c.agentId).join(", ")}): name the one to adopt`);
      }
      agentId = claims[0]?.agentId;
    }
    const agentAttached = agentId !== undefined && (await attachAgent(trx, host, agentId));

    const now = (await lockHost(trx, hostId))!;
    const wanted = request.address ?? now.address ?? now.addresses[0];
    if (wanted === undefined) {
      if (agentAttached) return { agentId: agentId!, address: null, agentAttached, addressConfirmed: false };
      throw new BadRequestError(`host ${host.name} has no agent claiming it and no address to confirm: name the agent, or give the address`);
    }
    if (!isValidAddress(wanted)) throw new BadRequestError(`the address the host reports, ${JSON.stringify(wanted)}, is not an IP address or DNS name: give the address`);
    const addressConfirmed = wanted !== now.address;
    if (addressConfirmed) await confirmAddress(trx, hostId, wanted);
    return { agentId: now.agent_id, address: wanted, agentAttached, addressConfirmed };
  });
}

/**
 * Links agentId to a host; returns false when it already was. An agent that has reported
 * has its own unassigned host: that host's reports, series and latest state move onto this
 * one, and it is removed. An agent attached to another placed host, or a host with another
 * agent, is refused.
 */
export async function attachAgent(trx: Tx, host: Pick<HostFacts, "id" | "name" | "agent_id">, agentId: string): Promise<boolean> {
  if (host.agent_id === agentId) return false;
  if (host.agent_id !== null) throw new BadRequestError(`host ${host.name} already has agent ${host.agent_id}`);
  const { rows } = await sql<{ id: number; site_id: number | null; name: string | null }>`
    SELECT id, site_id, name FROM hosts WHERE agent_id = ${agentId} FOR UPDATE`.execute(trx);
  const own = rows[0];
  if (own && own.site_id !== null) throw new BadRequestError(`agent ${agentId} is already attached to host ${own.name ?? own.id}`);
  if (own) await moveReports(trx, own.id, host.id);
  await setAgent(trx, host.id, agentId);
  return true;
}

/** Moves what an agent's unassigned host holds onto the host it is adopted as, then drops it. */
async function moveReports(trx: Tx, from: number, to: number): Promise<void> {
  // The agent's own interfaces replace any Proxmox listed, as they do for a host an agent reports on.
  await sql`DELETE FROM host_interfaces WHERE host_id = ${to}`.execute(trx);
  // The unassigned host had no agent before this one, so its boots and rollups collide with none of the placed host's.
  const series = SERIES_TABLES.filter((t) => ["report_samples", "mount_samples", "check_samples"].includes(t.raw)).flatMap((t) => TIERS.map((tier) => tierTable(t, tier)));
  for (const table of [...series, "host_boots", "host_interfaces", "alerts"]) {
    await sql`UPDATE ${sql.table(table)} SET host_id = ${to} WHERE host_id = ${from}`.execute(trx);
  }
  await absorbAgentHost(trx, from, to);
}
