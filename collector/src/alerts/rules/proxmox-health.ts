// Storage and cluster health of a stored Proxmox cycle: a ZFS pool not ONLINE
// (ZfsPoolDegraded) or with data errors (ZfsPoolErrors), a replication job failing
// (ReplicationFailed), an HA resource in error, fence or recovery (HaServiceError), the HA
// manager without quorum (ClusterQuorumLost) and Ceph's health (CephHealthWarning /
// CephHealthError). Cluster-wide alerts (Ceph, quorum) fire once per cluster, on no host.
// What this cycle could not read gives no observation: its alerts keep their state.
import type { ProxmoxCycle, ProxmoxResourceState } from "../../proxmox/cycle.ts";
import type { HostObservation, Severity } from "../engine.ts";
import { settingsFor, type RuleScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const ZFS_POOL_DEGRADED = "ZfsPoolDegraded";
export const ZFS_POOL_ERRORS = "ZfsPoolErrors";
export const REPLICATION_FAILED = "ReplicationFailed";
export const HA_SERVICE_ERROR = "HaServiceError";
export const CLUSTER_QUORUM_LOST = "ClusterQuorumLost";
export const CEPH_HEALTH_WARNING = "CephHealthWarning";
export const CEPH_HEALTH_ERROR = "CephHealthError";

export const PROXMOX_HEALTH_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [ZFS_POOL_DEGRADED]: { enabled: true, forSeconds: 0 },
  [ZFS_POOL_ERRORS]: { enabled: true, forSeconds: 0 },
  [REPLICATION_FAILED]: { enabled: true, forSeconds: 0 },
  [HA_SERVICE_ERROR]: { enabled: true, forSeconds: 60 },
  [CLUSTER_QUORUM_LOST]: { enabled: true, forSeconds: 60 },
  [CEPH_HEALTH_WARNING]: { enabled: true, forSeconds: 300 },
  [CEPH_HEALTH_ERROR]: { enabled: true, forSeconds: 60 },
};

/** HA resource states that need a person: the manager gave up (error), is fencing its node, or recovering it elsewhere. */
const HA_TROUBLE = new Set(["error", "fence", "recovery"]);

export function judgeHealth(cycle: ProxmoxCycle, config: RulesConfig): HostObservation[] {
  const health = cycle.health;
  if (!health) return [];
  const out: HostObservation[] = [];
  const nodes = new Map(cycle.resources.filter((r) => r.type === "node" && !r.gone).map((r) => [r.node, r]));
  const guests = new Map(cycle.resources.filter((r) => r.type !== "node" && !r.gone).map((r) => [r.vmid, r]));
  const scope = (r: ProxmoxResourceState | undefined, extra: Partial<RuleScope> = {}): RuleScope => ({
    host: r?.host ?? "", client: cycle.client, site: cycle.site, ...(r?.labels && { labels: r.labels }), ...extra,
  });
  const push = (rule: string, severity: Severity, r: ProxmoxResourceState | undefined, labels: Record<string, string>, active: boolean, summary: string, ruleScope = scope(r)) => {
    const settings = settingsFor(rule, PROXMOX_HEALTH_DEFAULTS[rule]!, config, ruleScope);
    if (!settings.enabled) return;
    out.push({
      hostId: r?.hostId ?? null,
      observation: { rule, severity, labels: { ...(r && { host: r.host }), cluster: cycle.cluster, ...labels }, annotations: { summary }, value: active ? 1 : 0, active, cleared: !active, forSeconds: settings.forSeconds },
    });
  };

  for (const [name, pools] of health.zfs) {
    const node = nodes.get(name);
    if (!pools || !node) continue;
    for (const pool of pools) {
      const labels = { node: name, pool: pool.name };
      const poolScope = scope(node, { mountpoint: pool.name });
      push(ZFS_POOL_DEGRADED, "critical", node, labels, pool.health !== "ONLINE", `ZFS pool ${pool.name} on Proxmox node ${name} is ${pool.health}`, poolScope);
      push(ZFS_POOL_ERRORS, "warning", node, labels, pool.errors !== null, pool.errors ? `ZFS pool ${pool.name} on Proxmox node ${name}: ${pool.errors}` : `ZFS pool ${pool.name} on Proxmox node ${name} has no known data errors`, poolScope);
    }
  }
  for (const [name, jobs] of health.replication) {
    if (!jobs) continue;
    for (const job of jobs) {
      const guest = guests.get(job.guest);
      const failing = job.failCount > 0 || job.error !== null;
      const last = job.lastSync ? `last synced ${job.lastSync.toISOString()}` : "never synced";
      push(REPLICATION_FAILED, "warning", guest, { job: job.id, source: name, target: job.target }, failing,
        failing ? `replication ${job.id} of guest ${job.guest} to ${job.target} failed ${job.failCount} time(s): ${job.error ?? "no error given"} (${last})` : `replication ${job.id} of guest ${job.guest} to ${job.target} is in sync (${last})`);
    }
  }
  if (health.ha) {
    if (health.ha.quorate !== null) push(CLUSTER_QUORUM_LOST, "critical", undefined, {}, !health.ha.quorate, `Proxmox cluster ${cycle.cluster} ${health.ha.quorate ? "is quorate" : "has lost quorum (HA manager)"}`);
    for (const service of health.ha.services) {
      const guest = guests.get(Number(service.sid.split(":")[1]));
      push(HA_SERVICE_ERROR, "critical", guest, { sid: service.sid }, HA_TROUBLE.has(service.state), `HA resource ${service.sid} of ${cycle.cluster} is ${service.state}${service.node ? ` on ${service.node}` : ""}`);
    }
  }
  if (health.ceph && health.ceph !== "absent") {
    const { status, checks } = health.ceph;
    const detail = checks.length ? `: ${checks.join("; ")}` : "";
    push(CEPH_HEALTH_WARNING, "warning", undefined, {}, status !== "HEALTH_OK", `Ceph of ${cycle.cluster} is ${status}${detail}`);
    push(CEPH_HEALTH_ERROR, "critical", undefined, {}, status === "HEALTH_ERR", `Ceph of ${cycle.cluster} is ${status}${detail}`);
  }
  return out;
}
