// The backup rules, judged on each stored Proxmox cycle: a guest never backed up
// (BackupMissing), a guest whose newest archive is older than the threshold, in hours
// (BackupTooOld, 26 h by default: a nightly job plus slack, so a job that runs late does
// not page), a node whose latest backup job failed (BackupJobFailed), and a snapshot kept
// longer than the threshold, in days (SnapshotTooOld, 7: a snapshot is no backup, and an
// old one grows with every write). Each can be
// overridden per guest (`match: { host }`), per label, site or client, and a guest is
// left out with `enabled: false`. A cycle that could not list every backup storage says
// nothing about backups: their alerts keep their state.
import type { ProxmoxCycle, ProxmoxResourceState } from "../../proxmox/cycle.ts";
import { thresholdObservation, type HostObservation } from "../engine.ts";
import { settingsFor, type RuleScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const BACKUP_MISSING = "BackupMissing";
export const BACKUP_TOO_OLD = "BackupTooOld";
export const BACKUP_JOB_FAILED = "BackupJobFailed";
export const SNAPSHOT_TOO_OLD = "SnapshotTooOld";

export const BACKUP_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  // A guest gets the time of one nightly job, with BackupTooOld's slack, before "never backed
  // up" pages: a VM created this afternoon is not yet missing a backup. The pending state is
  // stored, so a collector restarted meanwhile does not start the wait again.
  [BACKUP_MISSING]: { enabled: true, forSeconds: 26 * 3600 },
  // Hours since the newest archive.
  [BACKUP_TOO_OLD]: { enabled: true, warning: 26, warningClear: 26, forSeconds: 0 },
  [BACKUP_JOB_FAILED]: { enabled: true, forSeconds: 0 },
  // Days since the guest's oldest snapshot was taken.
  [SNAPSHOT_TOO_OLD]: { enabled: true, warning: 7, warningClear: 7, forSeconds: 0 },
};

const HOUR = 3600 * 1000;

export function judgeBackups(cycle: ProxmoxCycle, config: RulesConfig, now: Date): HostObservation[] {
  const out: HostObservation[] = [];
  const scopeOf = (r: ProxmoxResourceState): RuleScope => ({ host: r.host, client: cycle.client, site: cycle.site, ...(r.labels && { labels: r.labels }) });
  const settings = (rule: string, r: ProxmoxResourceState) => settingsFor(rule, BACKUP_RULE_DEFAULTS[rule]!, config, scopeOf(r));
  const names = new Map(cycle.resources.filter((r) => r.type !== "node").map((r) => [r.vmid, r.host]));
  const guestName = (vmid: number) => (names.has(vmid) ? `${vmid} (${names.get(vmid)})` : String(vmid));
  for (const r of cycle.resources) {
    if (r.gone) continue;
    if (r.type === "node") {
      const job = settings(BACKUP_JOB_FAILED, r);
      if (!job.enabled || !r.backupTask) continue;
      const failed = r.backupTask.failed;
      out.push({
        hostId: r.hostId,
        observation: {
          rule: BACKUP_JOB_FAILED, severity: "warning", labels: { host: r.host, cluster: cycle.cluster, node: r.node },
          annotations: {
            summary: failed
              ? `the latest backup job on Proxmox node ${r.node} failed: ${r.backupTask.status}${r.backupTask.failedGuests.length ? ` (${r.backupTask.failedGuests.map((g) => `${guestName(g.vmid)}: ${g.error}`).join("; ")})` : ""}`
              : `the latest backup job on Proxmox node ${r.node} ended ${r.backupTask.status}`,
            task: r.backupTask.upid,
          },
          value: failed ? 1 : 0, active: failed, cleared: !failed, forSeconds: job.forSeconds,
        },
      });
      continue;
    }
    const kind = r.type === "qemu" ? "VM" : "container";
    const snapshots = settings(SNAPSHOT_TOO_OLD, r);
    if (snapshots.enabled && snapshots.warning !== undefined && r.oldestSnapshot !== undefined && !r.stale) {
      const ageDays = r.oldestSnapshot ? (now.getTime() - r.oldestSnapshot.takenAt.getTime()) / (24 * HOUR) : 0;
      out.push({
        hostId: r.hostId,
        observation: thresholdObservation(
          {
            rule: SNAPSHOT_TOO_OLD, severity: "warning", labels: { host: r.host, cluster: cycle.cluster, node: r.node, vmid: String(r.vmid) },
            annotations: { summary: r.oldestSnapshot ? `snapshot ${r.oldestSnapshot.name} of Proxmox ${kind} ${r.vmid} (${r.host}) is ${ageDays.toFixed(1)} days old` : `Proxmox ${kind} ${r.vmid} (${r.host}) has no snapshot` },
            value: Math.round(ageDays * 10) / 10, forSeconds: snapshots.forSeconds,
          },
          { direction: "above", fire: snapshots.warning, clear: snapshots.warningClear ?? snapshots.warning },
        ),
      });
    }
    if (!r.backup) continue;
    const labels = { host: r.host, cluster: cycle.cluster, node: r.node, vmid: String(r.vmid) };
    const missing = settings(BACKUP_MISSING, r);
    if (missing.enabled) {
      const never = r.backup.at === null;
      out.push({
        hostId: r.hostId,
        observation: {
          rule: BACKUP_MISSING, severity: "warning", labels,
          annotations: { summary: never ? `Proxmox ${kind} ${r.vmid} (${r.host}) has no backup in any backup storage of ${cycle.cluster}` : `Proxmox ${kind} ${r.vmid} (${r.host}) has a backup` },
          value: never ? 1 : 0, active: never, cleared: !never, forSeconds: missing.forSeconds,
        },
      });
    }
    const old = settings(BACKUP_TOO_OLD, r);
    if (!old.enabled || r.backup.at === null) continue;
    const ageHours = (now.getTime() - r.backup.at.getTime()) / HOUR;
    for (const severity of ["warning", "critical"] as const) {
      const fire = old[severity];
      if (fire === undefined) continue;
      out.push({
        hostId: r.hostId,
        observation: thresholdObservation(
          {
            rule: BACKUP_TOO_OLD, severity, labels,
            annotations: { summary: `the newest backup of Proxmox ${kind} ${r.vmid} (${r.host}) is ${ageHours.toFixed(1)} h old (${r.backup.volid})` },
            value: Math.round(ageHours * 10) / 10, forSeconds: old.forSeconds,
          },
          { direction: "above", fire, clear: old[`${severity}Clear`] ?? fire },
        ),
      });
    }
  }
  return out;
}
