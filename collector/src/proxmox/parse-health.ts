// The pure side of storage and cluster health (proxmox/health.ts reads): ZFS pools, storage
// replication jobs, HA state and Ceph health, as PVE 8's API gives them.
import { ProxmoxError } from "./client.ts";

export interface ZfsPool {
  name: string;
  /** zpool's state: ONLINE, DEGRADED, FAULTED, OFFLINE, UNAVAIL, REMOVED, SUSPENDED. */
  health: string;
  /** zpool status's "errors:" line when it reports data errors; null for "No known data errors" or not read. */
  errors: string | null;
}

export interface ReplicationJob {
  /** "100-0": guest and job number. */
  id: string;
  guest: number;
  target: string;
  lastSync: Date | null;
  failCount: number;
  error: string | null;
}

export interface HaState {
  /** The cluster's quorum as the HA manager sees it; null when not listed. */
  quorate: boolean | null;
  /** HA resources ("vm:100", "ct:105") and their state: started, stopped, error, fence, recovery… */
  services: Array<{ sid: string; state: string; node: string | null }>;
}

export interface CephHealth {
  /** HEALTH_OK, HEALTH_WARN, HEALTH_ERR. */
  status: string;
  /** What Ceph says is wrong, one line per check. */
  checks: string[];
}

const list = (data: unknown, what: string): Record<string, unknown>[] => {
  if (!Array.isArray(data)) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${what}: expected a list, got ${data === null ? "null" : typeof data}`);
  return data.filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null);
};
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : null);
// Free text from PVE (errors, Ceph's messages) ends in alert annotations: bounded.
const text = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim().slice(0, 500) : null);

/** GET /nodes/{node}/disks/zfs: the pools and their health. */
export function parseZfsPools(data: unknown): ZfsPool[] {
  return list(data, "disks/zfs")
    .filter((p) => typeof p.name === "string")
    .map((p) => ({ name: p.name as string, health: text(p.health) ?? "UNKNOWN", errors: null }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** GET /nodes/{node}/disks/zfs/{name}: zpool status; its `errors` line, null when none are known. */
export function parseZfsErrors(data: unknown): string | null {
  const errors = text((data as { errors?: unknown } | null)?.errors);
  return errors === null || /^No known data errors$/i.test(errors) ? null : errors;
}

/** GET /nodes/{node}/replication: the jobs this node runs (it is their source). */
export function parseReplication(data: unknown): ReplicationJob[] {
  return list(data, "replication")
    .filter((j) => typeof j.id === "string" && num(j.guest) !== null && !num(j.disable))
    .map((j) => ({
      id: j.id as string, guest: num(j.guest)!, target: text(j.target) ?? "", lastSync: num(j.last_sync) ? new Date(num(j.last_sync)! * 1000) : null,
      failCount: num(j.fail_count) ?? 0, error: text(j.error),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** GET /cluster/ha/status/current: the quorum entry and each service's state. */
export function parseHaStatus(data: unknown): HaState {
  const entries = list(data, "ha/status/current");
  const quorum = entries.find((e) => e.type === "quorum");
  return {
    quorate: quorum ? num(quorum.quorate) === 1 || quorum.status === "OK" : null,
    services: entries
      .filter((e) => e.type === "service" && typeof e.sid === "string")
      .map((e) => ({ sid: e.sid as string, state: text(e.state) ?? "unknown", node: text(e.node) }))
      .sort((a, b) => a.sid.localeCompare(b.sid)),
  };
}

/** GET /cluster/ceph/status: health.status and its checks' summaries. */
export function parseCephStatus(data: unknown): CephHealth {
  const health = (data as { health?: { status?: unknown; checks?: unknown } } | null)?.health;
  const status = text(health?.status);
  if (!status) throw new ProxmoxError("PROXMOX_BAD_RESPONSE", "ceph/status: no health.status");
  const checks = Object.entries(typeof health?.checks === "object" && health.checks ? (health.checks as Record<string, { severity?: unknown; summary?: { message?: unknown } }>) : {})
    .map(([name, c]) => `${name}: ${text(c?.summary?.message) ?? text(c?.severity) ?? ""}`.trim())
    .sort();
  return { status, checks };
}

/** PVE's answer for a cluster without Ceph: not an error, there is nothing to judge. */
export const cephAbsent = (message: string): boolean => /not (installed|initialized|configured)|binary not installed/i.test(message);
