// The Proxmox rules, judged after each discovery cycle has been stored: a node
// down, a guest that was running now stopped, a node's storage filling. Pure:
// the cycle's resources (and what earlier cycles saw) in, observations out;
// the engine decides pending/firing/resolved. Defaults are documented in
// docs/alerts.md; each can be overridden (../settings.ts).
//
// What is not known is not judged: a guest of a node that does not answer (595)
// or a cycle whose listing failed gives no observation at all, so its alert,
// if any, keeps its state — neither fired nor resolved by a lack of news.
import type { ProxmoxCycle, ProxmoxResourceState } from "../../proxmox/cycle.ts";
import type { StorageUsage } from "../../proxmox/parse.ts";
import { thresholdObservation, type HostObservation, type Severity } from "../engine.ts";
import { settingsFor, type RuleScope, type RuleSettings, type RulesConfig } from "../settings.ts";
import { judgeBackups } from "./backups.ts";
import { judgeHealth } from "./proxmox-health.ts";

export const PROXMOX_NODE_DOWN = "ProxmoxNodeDown";
export const PROXMOX_GUEST_DOWN = "ProxmoxGuestDown";
export const PROXMOX_STORAGE_FILLING = "ProxmoxStorageFilling";

export const PROXMOX_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [PROXMOX_NODE_DOWN]: { enabled: true, forSeconds: 60 },
  [PROXMOX_GUEST_DOWN]: { enabled: true, forSeconds: 60, graceSeconds: 30 * 60 },
  [PROXMOX_STORAGE_FILLING]: { enabled: true, warning: 85, warningClear: 80, critical: 95, criticalClear: 92, forSeconds: 5 * 60 },
};

/** What earlier cycles of a cluster saw: the guests seen running. */
export interface ProxmoxMemory {
  seenRunning: Set<number>;
}

export function newProxmoxMemory(): ProxmoxMemory {
  return { seenRunning: new Set() };
}

/**
 * The observations of one stored cycle. `openGuestDown`: hosts with an open
 * (pending or firing) ProxmoxGuestDown alert, so a collector restarted while a
 * guest is down keeps judging it down though its memory is new.
 */
export function judgeProxmox(cycle: ProxmoxCycle, memory: ProxmoxMemory, openGuestDown: ReadonlySet<number>, config: RulesConfig, now = new Date()): HostObservation[] {
  if (!cycle.listed) return [];
  const out: HostObservation[] = [...judgeBackups(cycle, config, now), ...judgeHealth(cycle, config)];
  const scopeOf = (r: ProxmoxResourceState, storage?: string): RuleScope => ({ host: r.host, client: cycle.client, site: cycle.site, ...(storage ? { mountpoint: storage } : {}) });
  const settings = (rule: string, scope: RuleScope) => settingsFor(rule, PROXMOX_RULE_DEFAULTS[rule]!, config, scope);
  // A shared storage (NFS, Ceph, PBS) is listed by every node alike: judged once for the cluster,
  // on the first node (by name) that answered for it.
  const shared = new Map<string, StorageUsage>();

  for (const r of cycle.resources) {
    if (r.gone) {
      const rule = r.type === "node" ? PROXMOX_NODE_DOWN : PROXMOX_GUEST_DOWN;
      const labels: Record<string, string> = r.type === "node" ? { host: r.host, cluster: cycle.cluster, node: r.node } : { host: r.host, cluster: cycle.cluster, node: r.node, vmid: String(r.vmid) };
      memory.seenRunning.delete(r.hostId);
      out.push({
        hostId: r.hostId,
        observation: { rule, severity: "critical", labels, annotations: { summary: `${r.host} was removed from Proxmox cluster ${cycle.cluster}` }, value: 0, active: false, cleared: true, forSeconds: 0 },
      });
      continue;
    }
    if (r.type === "node") {
      const nodeDown = settings(PROXMOX_NODE_DOWN, scopeOf(r));
      const down = r.stale || r.status !== "online";
      if (nodeDown.enabled) {
        out.push({
          hostId: r.hostId,
          observation: {
            rule: PROXMOX_NODE_DOWN, severity: "critical",
            labels: { host: r.host, cluster: cycle.cluster, node: r.node },
            annotations: { summary: down ? `Proxmox node ${r.node} of ${cycle.cluster} is ${r.stale && r.status === "online" ? "unreachable" : r.status}` : `Proxmox node ${r.node} of ${cycle.cluster} is online` },
            value: down ? 1 : 0, active: down, cleared: !down, forSeconds: nodeDown.forSeconds,
          },
        });
      }
      // A node that did not answer has no storage figures this cycle: its storage alerts keep their state.
      if (!down && r.storage) {
        out.push(...judgeStorage(cycle, r, r.storage.filter((st) => !st.shared), settings, scopeOf));
        for (const st of r.storage.filter((x) => x.shared)) {
          if (!shared.has(st.storage)) shared.set(st.storage, st);
          // Before issue 20 a shared storage was judged per node: such an alert resolves.
          for (const severity of ["warning", "critical"] as const) {
            out.push({
              hostId: r.hostId,
              observation: {
                rule: PROXMOX_STORAGE_FILLING, severity, labels: { host: r.host, cluster: cycle.cluster, node: r.node, storage: st.storage },
                annotations: { summary: `storage ${st.storage} is shared: judged once for cluster ${cycle.cluster}` }, value: 0, active: false, cleared: true, forSeconds: 0,
              },
            });
          }
        }
      }
      continue;
    }

    // A guest of a node that did not answer: its status is not known, nothing is judged or remembered.
    if (r.stale || (r.status !== "running" && r.status !== "stopped")) continue;
    if (r.status === "running") memory.seenRunning.add(r.hostId);
    const guestDown = settings(PROXMOX_GUEST_DOWN, scopeOf(r));
    if (!guestDown.enabled) continue;
    const stopped = r.status === "stopped";
    // Stopped on purpose: a guest first seen stopped never fires; one seen running, then stopped, does.
    const wasRunning = memory.seenRunning.has(r.hostId) || openGuestDown.has(r.hostId) || r.previousStatus === "running";
    const backup = r.lock === "backup";
    const grace = guestDown.graceSeconds ?? 0;
    const kind = r.type === "qemu" ? "VM" : "container";
    out.push({
      hostId: r.hostId,
      observation: {
        rule: PROXMOX_GUEST_DOWN, severity: "critical",
        labels: { host: r.host, cluster: cycle.cluster, node: r.node, vmid: String(r.vmid) },
        annotations: { summary: stopped ? `Proxmox ${kind} ${r.vmid} (${r.host}) on ${r.node} is stopped${backup ? " (locked for backup)" : ""}` : `Proxmox ${kind} ${r.vmid} (${r.host}) on ${r.node} is running` },
        value: stopped ? 1 : 0,
        active: stopped && wasRunning,
        cleared: !stopped,
        // Locked for backup: the grace period before it counts as down; the lock gone, `for` applies from when it stopped.
        forSeconds: backup ? Math.max(grace, guestDown.forSeconds) : guestDown.forSeconds,
      },
    });
  }
  out.push(...judgeSharedStorage(cycle, [...shared.values()], settings));
  return out;
}

function judgeSharedStorage(cycle: ProxmoxCycle, storage: readonly StorageUsage[], settings: (rule: string, scope: RuleScope) => RuleSettings): HostObservation[] {
  return storageFilling(storage, (s) => settings(PROXMOX_STORAGE_FILLING, { host: "", client: cycle.client, site: cycle.site, mountpoint: s.storage }), (s, used) => ({
    hostId: null,
    labels: { cluster: cycle.cluster, storage: s.storage },
    summary: `shared storage ${s.storage} of Proxmox cluster ${cycle.cluster} is ${used.toFixed(1)}% full`,
  }));
}

function judgeStorage(
  cycle: ProxmoxCycle,
  node: ProxmoxResourceState,
  storage: readonly StorageUsage[],
  settings: (rule: string, scope: RuleScope) => RuleSettings,
  scopeOf: (r: ProxmoxResourceState, storage?: string) => RuleScope,
): HostObservation[] {
  return storageFilling(storage, (s) => settings(PROXMOX_STORAGE_FILLING, scopeOf(node, s.storage)), (s, used) => ({
    hostId: node.hostId,
    labels: { host: node.host, cluster: cycle.cluster, node: node.node, storage: s.storage },
    summary: `storage ${s.storage} on Proxmox node ${node.node} is ${used.toFixed(1)}% full`,
  }));
}

/** ProxmoxStorageFilling for each active storage with figures: a warning and a critical threshold, each with its clear. */
function storageFilling(
  storage: readonly StorageUsage[],
  ruleOf: (s: StorageUsage) => RuleSettings,
  describe: (s: StorageUsage, usedPercent: number) => { hostId: number | null; labels: Record<string, string>; summary: string },
): HostObservation[] {
  const out: HostObservation[] = [];
  for (const s of storage) {
    if (!s.active || s.total === null || s.total <= 0 || s.used === null) continue;
    const used = (s.used / s.total) * 100;
    const rule = ruleOf(s);
    if (!rule.enabled) continue;
    const { hostId, labels, summary } = describe(s, used);
    for (const severity of ["warning", "critical"] as const satisfies readonly Severity[]) {
      const fire = rule[severity];
      if (fire === undefined) continue;
      const clear = rule[`${severity}Clear`] ?? fire - Math.abs(fire) * 0.05;
      out.push({
        hostId,
        observation: thresholdObservation(
          { rule: PROXMOX_STORAGE_FILLING, severity, labels: { ...labels }, annotations: { summary }, value: used, forSeconds: rule.forSeconds },
          { direction: "above", fire, clear },
        ),
      });
    }
  }
  return out;
}
