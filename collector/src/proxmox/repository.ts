// Reads of the proxmox_* tables (store.ts writes them): what the API shows of a
// host Proxmox knows (its place in the cluster, its state, its latest figures,
// and for a node its storage), and a cluster's resources after a cycle.
import type { Db } from "../db/database.ts";
import type { GuestBackup, ProxmoxDetail } from "../http/api-types.ts";

export type { ProxmoxDetail } from "../http/api-types.ts";

export async function proxmoxDetail(db: Db, hostId: number): Promise<ProxmoxDetail | null> {
  const r = await db
    .selectFrom("proxmox_resources")
    .select(["cluster", "type", "node", "vmid", "status", "tags", "agent", "interfaces", "stale_reason", "seen_at", "gone_at", "last_backup_at", "last_backup_bytes", "last_backup_volid", "backups_checked_at"])
    .where("host_id", "=", hostId)
    .executeTakeFirst();
  if (!r) return null;
  const s = await db.selectFrom("proxmox_samples").selectAll().where("host_id", "=", hostId).orderBy("collected_at", "desc").limit(1).executeTakeFirst();
  const storage = await db
    .selectFrom("proxmox_storage_samples")
    .select(["storage", "type", "shared", "active", "total_bytes", "used_bytes", "available_bytes", "collected_at"])
    .distinctOn("storage")
    .where("host_id", "=", hostId)
    .orderBy("storage")
    .orderBy("collected_at", "desc")
    .execute();
  return {
    cluster: r.cluster, type: r.type, node: r.node, vmid: r.type === "node" ? null : r.vmid, status: r.status, tags: r.tags, agent: r.agent,
    interfaces: r.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: i.addresses })),
    stale: r.stale_reason !== null, staleReason: r.stale_reason, seenAt: r.seen_at.toISOString(), goneAt: r.gone_at?.toISOString() ?? null,
    latest: {
      at: s?.collected_at.toISOString() ?? null,
      cpuPercent: s?.cpu_percent ?? null, cpus: s?.cpus ?? null, memoryUsedBytes: s?.memory_used_bytes ?? null, memoryTotalBytes: s?.memory_total_bytes ?? null,
      diskUsedBytes: s?.disk_used_bytes ?? null, diskTotalBytes: s?.disk_total_bytes ?? null,
      networkRxBytesPerSecond: s?.network_rx_bytes_per_second ?? null, networkTxBytesPerSecond: s?.network_tx_bytes_per_second ?? null,
      diskReadBytesPerSecond: s?.disk_read_bytes_per_second ?? null, diskWriteBytesPerSecond: s?.disk_write_bytes_per_second ?? null,
      uptimeSeconds: s?.uptime_seconds ?? null,
    },
    storage: storage.map((st) => ({
      storage: st.storage, type: st.type, shared: st.shared, active: st.active, totalBytes: st.total_bytes, usedBytes: st.used_bytes, availableBytes: st.available_bytes,
      usedPercent: st.total_bytes && st.used_bytes !== null ? Math.round((st.used_bytes / st.total_bytes) * 1000) / 10 : null,
      at: st.collected_at.toISOString(),
    })),
    backup: r.backups_checked_at
      ? { at: r.last_backup_at?.toISOString() ?? null, sizeBytes: r.last_backup_bytes === null ? null : Number(r.last_backup_bytes), volid: r.last_backup_volid, checkedAt: r.backups_checked_at.toISOString() }
      : null,
  };
}

/** A cluster's node or guest as stored after a cycle, with the host it is. */
export interface StoredResource {
  host_id: number;
  type: "node" | "qemu" | "lxc";
  node: string;
  vmid: number;
  /** The host's topology name, else its hostname. */
  host: string;
  /** Found gone by the cycle at `at`. */
  gone: boolean;
  /** Its status in the sample stored before `at`. */
  previous: string | null;
  labels: Record<string, string>;
}

/** The cluster's resources still there after the cycle at `at`, and those that cycle found gone. */
export async function storedResources(db: Db, cluster: string, at: Date): Promise<StoredResource[]> {
  return db
    .selectFrom("proxmox_resources as r")
    .innerJoin("hosts as h", "h.id", "r.host_id")
    .select((eb) => [
      "r.host_id",
      "r.type",
      "r.node",
      "r.vmid",
      eb.fn.coalesce("h.name", "h.hostname").as("host"),
      "h.labels",
      eb("r.gone_at", "is not", null).$castTo<boolean>().as("gone"),
      eb
        .selectFrom("proxmox_samples as ps")
        .select("ps.status")
        .whereRef("ps.host_id", "=", "r.host_id")
        .where("ps.collected_at", "<", at)
        .orderBy("ps.collected_at", "desc")
        .limit(1)
        .as("previous"),
    ])
    .where("r.cluster", "=", cluster)
    .where((eb) => eb.or([eb("r.gone_at", "is", null), eb("r.gone_at", "=", at)]))
    .execute();
}

/** Every Proxmox guest's newest backup: never backed up first, then the oldest backup first; unknown coverage last. */
export async function guestBackups(db: Db): Promise<GuestBackup[]> {
  const rows = await db
    .selectFrom("proxmox_resources as r")
    .innerJoin("hosts as h", "h.id", "r.host_id")
    .select((eb) => [
      "r.host_id", eb.fn.coalesce("h.name", "h.hostname").as("host"), "r.cluster", "r.node", "r.type", "r.vmid",
      "r.last_backup_at", "r.last_backup_bytes", "r.last_backup_volid", "r.backups_checked_at",
    ])
    .where("r.type", "!=", "node")
    .where("r.gone_at", "is", null)
    .execute();
  const rank = (r: (typeof rows)[number]) => (r.backups_checked_at === null ? 2 : r.last_backup_at === null ? 0 : 1);
  return rows
    .sort((a, b) => rank(a) - rank(b) || (a.last_backup_at?.getTime() ?? 0) - (b.last_backup_at?.getTime() ?? 0) || a.cluster.localeCompare(b.cluster) || a.vmid - b.vmid)
    .map((r) => ({
      hostId: Number(r.host_id), host: r.host, cluster: r.cluster, node: r.node, type: r.type as "qemu" | "lxc", vmid: r.vmid,
      lastBackupAt: r.last_backup_at?.toISOString() ?? null, sizeBytes: r.last_backup_bytes === null ? null : Number(r.last_backup_bytes),
      volid: r.last_backup_volid, checkedAt: r.backups_checked_at?.toISOString() ?? null,
    }));
}
