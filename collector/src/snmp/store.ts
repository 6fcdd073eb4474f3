// A device's poll into the model, in one transaction: the device is a host of kind `network`
// in its entry's client/site — merged with a host of that site it matches by name, address or
// MAC, never overwriting a person's facts, never taking an unassigned agent's host — with its
// interfaces (counters → rates), samples for charts, and the links its LLDP and ARP tables show.
import { sql } from "kysely";
import type { Db, Tx } from "../db/database.ts";
import { ensureClientSite, insertDiscoveredHost, setDiscoveredAddresses, stateDiscoveredFacts } from "../hosts/writes.ts";
import type { SnmpTargetConfig } from "./config.ts";
import { counterRate } from "./counters.ts";
import type { Counter, DeviceInterface, DeviceSnapshot, OperStatus } from "./parse.ts";
import type { DevicePoll } from "./poll.ts";

/** A device as stored after a poll: what the alert rules judge. */
export interface StoredDevice {
  hostId: number;
  host: string;
  entry: string;
  address: string;
  client: string;
  site: string;
  reachable: boolean;
  /** Polls in a row that failed. */
  failures: number;
  error: string | null;
  uptimeSeconds: number | null;
  previousUptimeSeconds: number | null;
  interfaces: StoredInterface[];
}

export interface StoredInterface {
  ifIndex: number;
  name: string;
  adminUp: boolean | null;
  oper: OperStatus | null;
  speedBps: number | null;
  inBps: number | null;
  outBps: number | null;
  inErrorsPerSecond: number | null;
  outErrorsPerSecond: number | null;
}

type StoredCounters = Partial<Record<"in" | "out" | "inErrors" | "outErrors" | "inDiscards" | "outDiscards", { value: string; bits: 32 | 64 }>>;

const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Stores one poll; null for an address that never answered (nothing is known of it). */
export async function storeDevicePoll(db: Db, entry: SnmpTargetConfig, poll: DevicePoll, at: Date): Promise<StoredDevice | null> {
  return db.transaction().execute(async (trx) => {
    // Polls of one device never interleave, even across several collectors.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`netmap.snmp.${entry.name}.${poll.address}`}))`.execute(trx);
    const { rows: known } = await sql<{ host_id: number; uptime_seconds: number | null; polled_at: Date | null }>`
      SELECT host_id, uptime_seconds, polled_at FROM snmp_devices WHERE entry = ${entry.name} AND address = ${poll.address}`.execute(trx);
    const previous = known[0];
    if (!poll.ok) {
      if (!previous) return null;
      await sql`
        UPDATE snmp_devices SET reachable = false, failures = failures + 1, error_code = ${poll.error.code}, error = ${poll.error.message}
        WHERE host_id = ${previous.host_id}`.execute(trx);
      return describe(trx, entry, previous.host_id, []);
    }
    const snapshot = poll.snapshot;
    const siteId = await ensureClientSite(trx, entry.client, entry.site);
    const hostId = previous?.host_id ?? (await resolveHost(trx, siteId, poll.address, snapshot));
    await stateFacts(trx, hostId);
    const uptime = snapshot.system.uptimeSeconds;
    const rebooted = uptime !== null && previous?.uptime_seconds != null && uptime < previous.uptime_seconds;
    const seconds = previous?.polled_at ? (at.getTime() - previous.polled_at.getTime()) / 1000 : 0;
    await sql`
      INSERT INTO snmp_devices (host_id, entry, address, sys_name, sys_descr, sys_object_id, chassis_id, uptime_seconds, previous_uptime_seconds,
        polled_at, poll_ms, reachable, error_code, error, failures)
      VALUES (${hostId}, ${entry.name}, ${poll.address}, ${snapshot.system.name}, ${snapshot.system.descr}, ${snapshot.system.objectId},
        ${snapshot.system.chassisId}, ${uptime}, ${previous?.uptime_seconds ?? null}, ${at}, ${poll.durationMs}, true, NULL, NULL, 0)
      ON CONFLICT (host_id) DO UPDATE SET sys_name = excluded.sys_name, sys_descr = excluded.sys_descr, sys_object_id = excluded.sys_object_id,
        chassis_id = excluded.chassis_id, previous_uptime_seconds = snmp_devices.uptime_seconds, uptime_seconds = excluded.uptime_seconds,
        polled_at = excluded.polled_at, poll_ms = excluded.poll_ms, reachable = true, error_code = NULL, error = NULL, failures = 0`.execute(trx);
    const interfaces = await storeInterfaces(trx, hostId, snapshot.interfaces, { seconds, rebooted, at });
    await storeLinks(trx, hostId, snapshot, at);
    return describe(trx, entry, hostId, interfaces);
  });
}

/**
 * The host a device seen for the first time is: the one host of its site that matches its
 * sysName, its address, or one of its MACs and is no other device; else a new host. Hosts
 * outside the site (an unassigned agent) are never matched: an agent claims, a person adopts.
 */
async function resolveHost(trx: Tx, siteId: number, address: string, snapshot: DeviceSnapshot): Promise<number> {
  const macs = snapshot.interfaces.map((i) => i.mac).filter((m): m is string => m !== null);
  const name = snapshot.system.name && HOSTNAME.test(snapshot.system.name) ? snapshot.system.name : null;
  for (const match of [
    name === null ? null : sql`lower(h.name) = lower(${name})`,
    sql`(h.address = ${address} OR ${address} = ANY (h.addresses))`,
    macs.length ? sql`EXISTS (SELECT 1 FROM host_interfaces i WHERE i.host_id = h.id AND i.mac = ANY (${macs}::text[]))` : null,
  ]) {
    if (match === null) continue;
    const { rows } = await sql<{ id: number }>`
      SELECT h.id FROM hosts h WHERE h.site_id = ${siteId} AND ${match}
        AND NOT EXISTS (SELECT 1 FROM snmp_devices d WHERE d.host_id = h.id)`.execute(trx);
    if (rows.length === 1) return rows[0]!.id;
  }
  const base = name ?? address;
  let free = base;
  for (const candidate of [base, `${base}-${address}`]) {
    const { rows } = await sql`SELECT 1 FROM hosts WHERE site_id = ${siteId} AND lower(name) = lower(${candidate})`.execute(trx);
    free = candidate;
    if (!rows.length) break;
  }
  return insertDiscoveredHost(trx, { hostname: base, siteId, name: free, kind: "network", source: "snmp" });
}

/** A device is of kind network unless a person said otherwise or an agent reports from it (a server running snmpd). */
async function stateFacts(trx: Tx, hostId: number): Promise<void> {
  const { rows } = await sql<{ fact_sources: Record<string, string>; agent_id: string | null; kind: string }>`
    SELECT fact_sources, agent_id, kind FROM hosts WHERE id = ${hostId} FOR UPDATE`.execute(trx);
  const host = rows[0]!;
  if (host.fact_sources.kind === "person" || host.agent_id !== null || host.kind === "network") return;
  await stateDiscoveredFacts(trx, hostId, { kind: "network" }, "snmp");
}

const toStored = (c: Counter | null) => (c ? { value: c.value.toString(), bits: c.bits } : undefined);
const fromStored = (c: { value: string; bits: 32 | 64 } | undefined): Counter | null => (c ? { value: BigInt(c.value), bits: c.bits } : null);

async function storeInterfaces(trx: Tx, hostId: number, interfaces: DeviceInterface[], when: { seconds: number; rebooted: boolean; at: Date }): Promise<StoredInterface[]> {
  const { rows: before } = await sql<{ if_index: number; counters: StoredCounters }>`
    SELECT if_index, counters FROM snmp_interfaces WHERE host_id = ${hostId}`.execute(trx);
  const previous = new Map(before.map((r) => [r.if_index, r.counters]));
  const rows = interfaces.map((i) => {
    const last = previous.get(i.index) ?? {};
    const octetCeiling = i.speedBps ? i.speedBps / 8 : null;
    const rate = (key: keyof StoredCounters, now: Counter | null, ceiling: number | null) =>
      counterRate(fromStored(last[key]), now, when.seconds, { rebooted: when.rebooted, ceilingPerSecond: ceiling });
    const counters: StoredCounters = {
      in: toStored(i.inOctets), out: toStored(i.outOctets), inErrors: toStored(i.inErrors), outErrors: toStored(i.outErrors),
      inDiscards: toStored(i.inDiscards), outDiscards: toStored(i.outDiscards),
    };
    const inOctets = rate("in", i.inOctets, octetCeiling);
    const outOctets = rate("out", i.outOctets, octetCeiling);
    return {
      if_index: i.index, name: i.name, alias: i.alias, mac: i.mac, admin_up: i.adminUp, oper: i.oper, speed_bps: i.speedBps, counters,
      in_bps: inOctets === null ? null : inOctets * 8, out_bps: outOctets === null ? null : outOctets * 8,
      in_errors_per_second: rate("inErrors", i.inErrors, null), out_errors_per_second: rate("outErrors", i.outErrors, null),
      in_discards_per_second: rate("inDiscards", i.inDiscards, null), out_discards_per_second: rate("outDiscards", i.outDiscards, null),
    };
  });
  await sql`DELETE FROM snmp_interfaces WHERE host_id = ${hostId}`.execute(trx);
  if (rows.length) {
    const json = JSON.stringify(rows);
    await sql`
      INSERT INTO snmp_interfaces (host_id, if_index, name, alias, mac, admin_up, oper, speed_bps, counters, in_bps, out_bps,
        in_errors_per_second, out_errors_per_second, in_discards_per_second, out_discards_per_second, polled_at)
      SELECT ${hostId}, r.if_index, r.name, r.alias, r.mac, r.admin_up, r.oper, r.speed_bps, r.counters, r.in_bps, r.out_bps,
        r.in_errors_per_second, r.out_errors_per_second, r.in_discards_per_second, r.out_discards_per_second, ${when.at}
      FROM jsonb_to_recordset(${json}::jsonb) AS r(if_index int, name text, alias text, mac text, admin_up boolean, oper text, speed_bps float8,
        counters jsonb, in_bps float8, out_bps float8, in_errors_per_second float8, out_errors_per_second float8,
        in_discards_per_second float8, out_discards_per_second float8)`.execute(trx);
    await sql`
      INSERT INTO snmp_interface_samples (host_id, interface, collected_at, oper_up, in_bps, out_bps, in_errors_per_second, out_errors_per_second)
      SELECT DISTINCT ON (r.name) ${hostId}, r.name, ${when.at}, CASE WHEN r.oper IS NULL THEN NULL WHEN r.oper = 'up' THEN 1 ELSE 0 END,
        r.in_bps, r.out_bps, r.in_errors_per_second, r.out_errors_per_second
      FROM jsonb_to_recordset(${json}::jsonb) AS r(name text, oper text, in_bps float8, out_bps float8, in_errors_per_second float8, out_errors_per_second float8)
      ON CONFLICT DO NOTHING`.execute(trx);
  }
  // The device's MACs where other discoveries match hosts by MAC; an agent's own report wins on its host.
  const { rows: agentless } = await sql`SELECT 1 FROM hosts WHERE id = ${hostId} AND agent_id IS NULL`.execute(trx);
  if (agentless.length) {
    const seen = new Set<string>();
    const own = interfaces.filter((i) => !seen.has(i.name) && seen.add(i.name));
    await sql`DELETE FROM host_interfaces WHERE host_id = ${hostId}`.execute(trx);
    if (own.length) {
      await sql`
        INSERT INTO host_interfaces (host_id, name, mac, addresses, up, virtual)
        SELECT ${hostId}, r.name, coalesce(r.mac, ''), '{}', coalesce(r.up, false), false
        FROM jsonb_to_recordset(${JSON.stringify(own.map((i) => ({ name: i.name, mac: i.mac, up: i.oper === "up" })))}::jsonb) AS r(name text, mac text, up boolean)`.execute(trx);
    }
    const { rows: device } = await sql<{ address: string }>`SELECT address FROM snmp_devices WHERE host_id = ${hostId}`.execute(trx);
    await setDiscoveredAddresses(trx, hostId, device.map((d) => d.address));
  }
  return rows.map((r) => ({
    ifIndex: r.if_index, name: r.name, adminUp: r.admin_up, oper: r.oper, speedBps: r.speed_bps, inBps: r.in_bps, outBps: r.out_bps,
    inErrorsPerSecond: r.in_errors_per_second, outErrorsPerSecond: r.out_errors_per_second,
  }));
}

/** The device's LLDP neighbours and ARP entries, each with the host at the other end when NetMap knows it (by chassis id, MAC or address). */
async function storeLinks(trx: Tx, hostId: number, snapshot: DeviceSnapshot, at: Date): Promise<void> {
  await sql`DELETE FROM snmp_links WHERE host_id = ${hostId}`.execute(trx);
  const nameOf = new Map(snapshot.interfaces.map((i) => [i.index, i.name]));
  const links = [
    ...snapshot.neighbours.map((n) => ({
      kind: "lldp", if_index: n.localIfIndex, local_port: n.localPort, peer_chassis: n.chassisId, peer_port: n.portDescr || n.portId, peer_name: n.sysName,
      peer_address: null, peer_mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(n.portId) ? n.portId : n.chassisId,
    })),
    ...snapshot.arp.map((a) => ({
      kind: "arp", if_index: a.ifIndex, local_port: nameOf.get(a.ifIndex) ?? String(a.ifIndex), peer_chassis: null, peer_port: null, peer_name: null,
      peer_address: a.address, peer_mac: a.mac,
    })),
  ];
  if (!links.length) return;
  await sql`
    INSERT INTO snmp_links (host_id, kind, if_index, local_port, peer_host_id, peer_chassis, peer_port, peer_name, peer_address, peer_mac, seen_at)
    SELECT ${hostId}, r.kind, r.if_index, r.local_port,
      coalesce(
        (SELECT d.host_id FROM snmp_devices d WHERE d.chassis_id = r.peer_chassis AND d.host_id <> ${hostId} LIMIT 1),
        (SELECT i.host_id FROM host_interfaces i WHERE i.mac IN (r.peer_mac, r.peer_chassis) AND i.host_id <> ${hostId} ORDER BY i.host_id LIMIT 1),
        (SELECT h.id FROM hosts h WHERE r.peer_address IS NOT NULL AND (h.address = r.peer_address OR r.peer_address = ANY (h.addresses)) AND h.id <> ${hostId} ORDER BY h.id LIMIT 1)
      ),
      r.peer_chassis, r.peer_port, r.peer_name, r.peer_address, r.peer_mac, ${at}
    FROM jsonb_to_recordset(${JSON.stringify(links)}::jsonb) AS r(kind text, if_index int, local_port text, peer_chassis text, peer_port text,
      peer_name text, peer_address text, peer_mac text)`.execute(trx);
}

async function describe(trx: Tx, entry: SnmpTargetConfig, hostId: number, interfaces: StoredInterface[]): Promise<StoredDevice> {
  const { rows } = await sql<{ name: string; address: string; reachable: boolean; failures: number; error: string | null; uptime_seconds: number | null; previous_uptime_seconds: number | null }>`
    SELECT coalesce(h.name, h.hostname) AS name, d.address, d.reachable, d.failures, d.error, d.uptime_seconds, d.previous_uptime_seconds
    FROM snmp_devices d JOIN hosts h ON h.id = d.host_id WHERE d.host_id = ${hostId}`.execute(trx);
  const d = rows[0]!;
  return {
    hostId, host: d.name, entry: entry.name, address: d.address, client: entry.client, site: entry.site, reachable: d.reachable, failures: d.failures,
    error: d.error, uptimeSeconds: d.uptime_seconds, previousUptimeSeconds: d.previous_uptime_seconds, interfaces,
  };
}
