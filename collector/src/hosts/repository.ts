// Reading hosts for the API. Plain functions over a Db.
import { CheckType, HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { proxmoxDetail } from "../proxmox/repository.ts";
import { networkDeviceDetail } from "../snmp/links.ts";
import { containerDetail, containerStatus } from "../containers/repository.ts";
import { claimsByAgentHost } from "../topology/adoption.ts";
import type { ExportedHost } from "./exposition.ts";
import { mountUsedPercent, protocolName } from "./headline.ts";
import type { HostDetail, HostSummary } from "../http/api-types.ts";
import { hostStatus, type HostStatus, type StatusThresholds } from "./status.ts";
import type { HostScope } from "../alerts/settings.ts";

export type { HostDetail, HostSummary } from "../http/api-types.ts";

const summaryColumns = [
  "id", "agent_id", "hostname", "received_at", "interval_seconds", "cpu_percent", "memory_percent", "load1",
  "logical_cores", "memory_total_bytes", "fullest_mountpoint", "fullest_mount_percent", "addresses", "address",
] as const;

type SummaryRow = {
  id: number; agent_id: string | null; hostname: string; received_at: Date | null; interval_seconds: number | null;
  cpu_percent: number | null; memory_percent: number | null; load1: number | null; logical_cores: number | null;
  memory_total_bytes: number | null; fullest_mountpoint: string | null; fullest_mount_percent: number | null;
  addresses: string[]; address: string | null; os: unknown; agent_version: string | null; proxmox_status: HostStatus | null;
  proxmox_latest: { cpu: number | null; memory: number | null; memoryTotal: number | null } | null;
};

/**
 * For a host no agent reports on, what Proxmox says (gone or stopped is down, unreachable node
 * is stale), else what the SNMP poller says (the device's last poll answered or not), else,
 * for a container, what its host's agent listed (containers/repository.ts).
 */
const proxmoxStatus = sql<HostStatus | null>`coalesce((
  SELECT CASE WHEN pr.gone_at IS NOT NULL THEN 'down' WHEN pr.stale_reason IS NOT NULL THEN 'stale'
              WHEN pr.status IN ('running', 'online') THEN 'up' ELSE 'down' END
  FROM proxmox_resources pr WHERE pr.host_id = hosts.id), (
  SELECT CASE WHEN d.reachable THEN 'up' ELSE 'down' END FROM snmp_devices d WHERE d.host_id = hosts.id), (
  SELECT ${containerStatus} FROM containers c WHERE c.host_id = hosts.id))`.as("proxmox_status");

/** The version the agent's latest report names (the stored report is HostReport's JSON). */

/** For a host no agent reports on, the latest figures Proxmox gave: CPU %, memory used % and total. */
const proxmoxLatest = sql<SummaryRow["proxmox_latest"]>`(
  SELECT jsonb_build_object('cpu', ps.cpu_percent, 'memory', round((ps.memory_used_bytes * 100.0 / nullif(ps.memory_total_bytes, 0))::numeric, 1),
                            'memoryTotal', ps.memory_total_bytes)
  FROM proxmox_samples ps WHERE ps.host_id = hosts.id AND hosts.received_at IS NULL
  ORDER BY ps.collected_at DESC LIMIT 1)`.as("proxmox_latest");

export async function listHosts(db: Db, thresholds: StatusThresholds, now = new Date()): Promise<HostSummary[]> {
  const rows = await db
    .selectFrom("hosts")
    .select([...summaryColumns, "os", "agent_version", proxmoxStatus, proxmoxLatest])
    .orderBy("hostname")
    .orderBy("id")
    .execute();
  const claims = await claimsByAgentHost(db);
  return rows.map((row) => toSummary(row, claims.get(row.id) ?? [], thresholds, now));
}

export async function getHost(db: Db, id: number, thresholds: StatusThresholds, now = new Date()): Promise<HostDetail | undefined> {
  const row = await db
    .selectFrom("hosts")
    .select([...summaryColumns, "report", "os", "agent_version", proxmoxStatus, proxmoxLatest])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) return undefined;
  // Cluster, VMID, status and latest figures when Proxmox knows the host (null otherwise).
  // This host's claims only: listing every agent host's costs ~0.3 s at 10,000 hosts (docs/performance.md).
  const claims = (await claimsByAgentHost(db, id)).get(id) ?? [];
  const summary = { ...toSummary(row, claims, thresholds, now), proxmox: await proxmoxDetail(db, id), network: await networkDeviceDetail(db, id), container: await containerDetail(db, id) };
  if (!row.report) return { ...summary, mounts: [], listeners: [], interfaces: [], disks: [], collectors: [], checks: [], sshAuth: null, containers: [] };
  const report = HostReport.decode(row.report);
  return {
    ...summary,
    intervalSeconds: report.intervalSeconds || null,
    uptimeSeconds: report.os?.uptimeSeconds ?? null,
    bootTime: report.os?.bootTime?.toISOString() ?? null,
    cpu: report.cpu ?? null,
    memory: report.memory ?? null,
    disks: report.disks,
    mounts: report.mounts.map((m) => ({ ...m, usedPercent: mountUsedPercent(m) })),
    listeners: report.listeners.map((l) => ({ ...l, protocol: protocolName(l.protocol) })),
    interfaces: report.interfaces,
    collectors: report.collectors,
    checks: report.checks.map((c) => ({ ...c, type: c.type === CheckType.CHECK_TYPE_TCP ? "tcp" : "http", checkedAt: c.checkedAt!.toISOString() })),
    sshAuth: report.sshAuth ?? null,
    containers: report.containers.map((c) => ({ ...c, startedAt: c.startedAt?.toISOString() ?? null })),
    // The agent's own health: spool depth, dropped reports, reconnects, its RSS and CPU.
    agent: report.agent ?? null,
  };
}

function toSummary(row: SummaryRow, claims: string[], thresholds: StatusThresholds, now: Date): HostSummary {
  const ageSeconds = row.received_at ? Math.max(0, (now.getTime() - row.received_at.getTime()) / 1000) : null;
  const os = row.os as Partial<Record<"distribution" | "release" | "kernel" | "architecture" | "virtualization", string>> | null;
  return {
    id: row.id,
    agentId: row.agent_id,
    hostname: row.hostname,
    // An agent's reports decide; else Proxmox; a host only a person declared is not monitored.
    status: row.received_at ? hostStatus(ageSeconds, row.interval_seconds, thresholds) : (row.proxmox_status ?? "unknown"),
    lastSeen: row.received_at?.toISOString() ?? null,
    ageSeconds,
    os: os
      ? {
          distribution: os.distribution ?? "",
          release: os.release ?? "",
          kernel: os.kernel ?? "",
          architecture: os.architecture ?? "",
          virtualization: os.virtualization ?? "",
        }
      : null,
    // Without an agent's reports, what Proxmox measured (guests and nodes it knows).
    cpuPercent: row.cpu_percent ?? row.proxmox_latest?.cpu ?? null,
    memoryPercent: row.memory_percent ?? row.proxmox_latest?.memory ?? null,
    load1: row.load1,
    logicalCores: row.logical_cores,
    memoryTotalBytes: row.memory_total_bytes ?? row.proxmox_latest?.memoryTotal ?? null,
    fullestMount:
      row.fullest_mountpoint !== null && row.fullest_mount_percent !== null
        ? { mountpoint: row.fullest_mountpoint, usedPercent: row.fullest_mount_percent }
        : null,
    addresses: row.addresses,
    address: row.address,
    claims,
    agentVersion: row.agent_version,
  };
}

/**
 * The hosts an agent reports on, with what /metrics/hosts labels them by and their latest
 * report (less listeners and collector runs, which no node_exporter metric shows).
 */
export async function hostsToExport(db: Db, thresholds: StatusThresholds, now = new Date()): Promise<ExportedHost[]> {
  const rows = await db
    .selectFrom("hosts")
    .leftJoin("sites", "sites.id", "hosts.site_id")
    .leftJoin("clients", "clients.id", "sites.client_id")
    .select([
      "hosts.id", "hosts.hostname", "hosts.name", "hosts.received_at", "hosts.interval_seconds",
      "sites.name as site", "clients.name as client", "hosts.report",
    ])
    .where("hosts.received_at", "is not", null)
    .orderBy("hosts.id")
    .execute();
  const hosts = rows.map((row) => {
    const age = Math.max(0, (now.getTime() - row.received_at!.getTime()) / 1000);
    return {
      id: Number(row.id),
      instance: row.name ?? row.hostname,
      client: row.client,
      site: row.site,
      up: hostStatus(age, row.interval_seconds, thresholds) !== "down",
      report: HostReport.decode(row.report!),
    };
  });
  // Two unplaced agents may call themselves the same; their series must not merge.
  const key = (h: ExportedHost) => JSON.stringify([h.instance, h.client, h.site]);
  const seen = new Map<string, number>();
  for (const h of hosts) seen.set(key(h), (seen.get(key(h)) ?? 0) + 1);
  return hosts.map(({ id, ...host }) => (seen.get(key(host as ExportedHost))! > 1 ? { id, ...host } : host));
}

/** The host an agent reports as, as rules and netmap.yaml's `checks:` select it (its name, placement, labels); null before its first report. */
export async function agentHostScope(db: Db, agentId: string): Promise<HostScope | null> {
  const { rows } = await sql<{ host: string; client: string | null; site: string | null; labels: Record<string, string> }>`
    SELECT coalesce(h.name, h.hostname) AS host, c.name AS client, s.name AS site, h.labels
    FROM hosts h LEFT JOIN sites s ON s.id = h.site_id LEFT JOIN clients c ON c.id = s.client_id
    WHERE h.agent_id = ${agentId}`.execute(db);
  const h = rows[0];
  return h ? { host: h.host, labels: h.labels, ...(h.client && { client: h.client }), ...(h.site && { site: h.site }) } : null;
}
