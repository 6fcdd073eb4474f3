// A discovery cycle as stored, handed to whoever judges it (the Proxmox alert
// rules, alerts/rules/proxmox.ts): each listed node and guest with the NetMap
// host it is. Built by the poller once the cycle's transaction committed.
import type { BackupTask, StorageUsage } from "./parse.ts";
import type { ClusterHealth } from "./health.ts";

/** One node or guest as the cycle stored it, with the NetMap host it is. */
export interface ProxmoxResourceState {
  hostId: number;
  /** The host's name in NetMap (alerts are labelled with it). */
  host: string;
  type: "node" | "qemu" | "lxc";
  node: string;
  vmid: number;
  /** Node: online/offline/unknown; guest: running/stopped/paused/unknown. */
  status: string;
  /** The lock a guest holds (backup, migrate…), if any. */
  lock?: string;
  /** Its facts are the last known ones: its node did not answer this cycle. */
  stale: boolean;
  /** The status the previous stored cycle saw (a guest running before a collector restart). */
  previousStatus?: string;
  /** Gone in this cycle: deleted from the cluster; not down, its alerts resolve. */
  gone?: boolean;
  /** A node's storage this cycle; null or absent when not learnt. */
  storage?: readonly StorageUsage[] | null;
  /** The labels a person gave the host (rule overrides match them). */
  labels?: Readonly<Record<string, string>>;
  /** A guest's newest backup (at null: none), present only when this cycle listed every backup storage. */
  backup?: { at: Date | null; volid: string | null; sizeBytes: number | null };
  /** A guest's oldest snapshot (null: none), present when learnt this cycle. */
  oldestSnapshot?: { name: string; takenAt: Date } | null;
  /** A node's latest finished backup job (null: none ever), present when learnt this cycle. */
  backupTask?: BackupTask | null;
}

export interface ProxmoxCycle {
  cluster: string;
  client: string;
  site: string;
  /** /nodes and /cluster/resources both answered; false: nothing is judged. */
  listed: boolean;
  resources: readonly ProxmoxResourceState[];
  /** ZFS, replication, HA and Ceph as this cycle read them (absent: not read). */
  health?: ClusterHealth | null;
}
