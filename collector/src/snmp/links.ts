// The links network devices show, for the map: each LLDP neighbour and each ARP entry whose
// other end NetMap knows (a device by its chassis id, any host by an interface MAC or an
// address), one link per pair of ports however many sides report it, with the local port's
// state and speed. Resolved when read, so a device polled before its neighbour still links.
import { sql } from "kysely";
import type { Db, Tx } from "../db/database.ts";
import type { NetworkDeviceDetail } from "../http/api-types.ts";

export interface NetworkLink {
  kind: "lldp" | "arp";
  from: { hostId: number; port: string };
  to: { hostId: number; port: string | null };
  /** false when a reporting end is not oper up; null when no end knows. */
  up: boolean | null;
  speedBps: number | null;
}

export async function networkLinks(db: Db | Tx): Promise<NetworkLink[]> {
  const { rows } = await sql<{ kind: "lldp" | "arp"; from_id: number; to_id: number; local_port: string; peer_port: string | null; oper: string | null; speed_bps: number | null }>`
    SELECT l.kind, l.host_id AS from_id, coalesce(d.host_id, i.host_id, l.peer_host_id) AS to_id, l.local_port, l.peer_port, si.oper, si.speed_bps
    FROM snmp_links l
    LEFT JOIN LATERAL (SELECT host_id FROM snmp_devices WHERE chassis_id = l.peer_chassis AND host_id <> l.host_id ORDER BY host_id LIMIT 1) d ON true
    LEFT JOIN LATERAL (SELECT host_id FROM host_interfaces WHERE mac IN (l.peer_mac, l.peer_chassis) AND host_id <> l.host_id ORDER BY host_id LIMIT 1) i ON true
    LEFT JOIN snmp_interfaces si ON si.host_id = l.host_id AND si.if_index = l.if_index
    WHERE coalesce(d.host_id, i.host_id, l.peer_host_id) IS NOT NULL
    ORDER BY l.host_id, l.kind, l.local_port`.execute(db);
  const byPair = new Map<string, NetworkLink>();
  for (const r of rows) {
    const ends = [{ hostId: Number(r.from_id), port: r.local_port as string | null }, { hostId: Number(r.to_id), port: r.peer_port }];
    const [a, b] = ends[0]!.hostId <= ends[1]!.hostId ? ends : [ends[1]!, ends[0]!];
    // ARP has no far port: one link per pair of hosts; LLDP: one per pair of ports.
    const key = r.kind === "arp" ? `${a!.hostId}|${b!.hostId}` : `${a!.hostId}|${a!.port}|${b!.hostId}|${b!.port}`;
    const up = r.oper === null ? null : r.oper === "up";
    const known = byPair.get(key) ?? (r.kind === "arp" ? undefined : byPair.get(`${a!.hostId}|${b!.hostId}`));
    if (known) {
      known.up = known.up === null ? up : up === null ? known.up : known.up && up;
      known.speedBps ??= r.speed_bps;
      continue;
    }
    // An ARP entry between hosts LLDP already links adds nothing.
    if (r.kind === "arp" && [...byPair.values()].some((l) => l.kind === "lldp" && [l.from.hostId, l.to.hostId].sort().join("|") === `${a!.hostId}|${b!.hostId}`)) continue;
    byPair.set(key, { kind: r.kind, from: { hostId: a!.hostId, port: a!.port ?? "" }, to: { hostId: b!.hostId, port: b!.port }, up, speedBps: r.speed_bps });
  }
  return [...byPair.values()];
}

/** The network devices' status on the map: up when their last poll answered, down when not. */
export async function deviceReachability(db: Db | Tx): Promise<Map<number, boolean>> {
  const { rows } = await sql<{ host_id: number; reachable: boolean }>`SELECT host_id, reachable FROM snmp_devices`.execute(db);
  return new Map(rows.map((r) => [Number(r.host_id), r.reachable]));
}

/** The device page's facts: the device, its interfaces with their rates, its neighbours. */
export async function networkDeviceDetail(db: Db | Tx, hostId: number): Promise<NetworkDeviceDetail | null> {
  const { rows } = await sql<{ entry: string; address: string; sys_name: string | null; sys_descr: string; sys_object_id: string | null; chassis_id: string | null;
    uptime_seconds: number | null; polled_at: Date | null; poll_ms: number | null; reachable: boolean; error: string | null }>`
    SELECT entry, address, sys_name, sys_descr, sys_object_id, chassis_id, uptime_seconds, polled_at, poll_ms, reachable, error
    FROM snmp_devices WHERE host_id = ${hostId}`.execute(db);
  const d = rows[0];
  if (!d) return null;
  const { rows: interfaces } = await sql<{ if_index: number; name: string; alias: string; mac: string | null; admin_up: boolean | null; oper: string | null;
    speed_bps: number | null; in_bps: number | null; out_bps: number | null; in_errors_per_second: number | null; out_errors_per_second: number | null }>`
    SELECT if_index, name, alias, mac, admin_up, oper, speed_bps, in_bps, out_bps, in_errors_per_second, out_errors_per_second
    FROM snmp_interfaces WHERE host_id = ${hostId} ORDER BY if_index`.execute(db);
  const links = (await networkLinks(db)).filter((l) => l.from.hostId === hostId || l.to.hostId === hostId);
  const { rows: neighbours } = await sql<{ kind: "lldp" | "arp"; local_port: string; peer_name: string | null; peer_port: string | null; peer_address: string | null; peer_mac: string | null }>`
    SELECT kind, local_port, peer_name, peer_port, peer_address, peer_mac FROM snmp_links WHERE host_id = ${hostId} ORDER BY kind DESC, local_port`.execute(db);
  const peerOf = (port: string) => {
    const link = links.find((l) => (l.from.hostId === hostId && l.from.port === port) || (l.to.hostId === hostId && l.to.port === port));
    return link ? (link.from.hostId === hostId ? link.to.hostId : link.from.hostId) : null;
  };
  return {
    entry: d.entry, address: d.address, sysName: d.sys_name, sysDescr: d.sys_descr, sysObjectId: d.sys_object_id, chassisId: d.chassis_id,
    uptimeSeconds: d.uptime_seconds, polledAt: d.polled_at?.toISOString() ?? null, pollMs: d.poll_ms, reachable: d.reachable, error: d.error,
    interfaces: interfaces.map((i) => ({
      ifIndex: i.if_index, name: i.name, alias: i.alias, mac: i.mac, adminUp: i.admin_up, oper: i.oper, speedBps: i.speed_bps,
      inBitsPerSecond: i.in_bps, outBitsPerSecond: i.out_bps, inErrorsPerSecond: i.in_errors_per_second, outErrorsPerSecond: i.out_errors_per_second,
    })),
    neighbours: neighbours.map((n) => ({
      kind: n.kind, localPort: n.local_port, name: n.peer_name, port: n.peer_port, address: n.peer_address, mac: n.peer_mac, hostId: n.kind === "lldp" ? peerOf(n.local_port) : null,
    })),
  };
}
