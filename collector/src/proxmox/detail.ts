// What the API shows of a host Proxmox knows: its place in the cluster, its
// state, its latest figures, and for a node its storage.
import { sql } from "kysely";
import type { Db } from "../db/database.ts";

export interface ProxmoxDetail {
  cluster: string;
  type: "node" | "qemu" | "lxc";
  node: string;
  /** Null for a node. */
  vmid: number | null;
  status: string;
  tags: string[];
  /** Guest agent / LXC interfaces state. */
  agent: string | null;
  /** As Proxmox knows them (config and guest agent): name, MAC, addresses as CIDR. */
  interfaces: Array<{ name: string; mac: string; addresses: string[] }>;
  stale: boolean;
  staleReason: string | null;
  seenAt: string;
  goneAt: string | null;
  latest: {
    at: string | null;
    cpuPercent: number | null;
    cpus: number | null;
    memoryUsedBytes: number | null;
    memoryTotalBytes: number | null;
    diskUsedBytes: number | null;
    diskTotalBytes: number | null;
    networkRxBytesPerSecond: number | null;
    networkTxBytesPerSecond: number | null;
    diskReadBytesPerSecond: number | null;
    diskWriteBytesPerSecond: number | null;
    uptimeSeconds: number | null;
  };
  storage: Array<{ storage: string; type: string; shared: boolean; active: boolean; totalBytes: number | null; usedBytes: number | null; availableBytes: number | null; usedPercent: number | null; at: string }>;
}

export async function proxmoxDetail(db: Db, hostId: number): Promise<ProxmoxDetail | null> {
  const { rows } = await sql<{
    cluster: string; type: ProxmoxDetail["type"]; node: string; vmid: number; status: string; tags: string[]; agent: string | null;
    stale_reason: string | null; seen_at: Date; gone_at: Date | null; interfaces: ProxmoxDetail["interfaces"];
  }>`SELECT cluster, type, node, vmid, status, tags, agent, interfaces, stale_reason, seen_at, gone_at FROM proxmox_resources WHERE host_id = ${hostId}`.execute(db);
  const r = rows[0];
  if (!r) return null;
  const { rows: samples } = await sql<Record<string, number | null> & { collected_at: Date }>`
    SELECT * FROM proxmox_samples WHERE host_id = ${hostId} ORDER BY collected_at DESC LIMIT 1`.execute(db);
  const s = samples[0];
  const { rows: storage } = await sql<{
    storage: string; type: string; shared: boolean; active: boolean; total_bytes: number | null; used_bytes: number | null; available_bytes: number | null; collected_at: Date;
  }>`
    SELECT DISTINCT ON (storage) storage, type, shared, active, total_bytes, used_bytes, available_bytes, collected_at
    FROM proxmox_storage_samples WHERE host_id = ${hostId} ORDER BY storage, collected_at DESC`.execute(db);
  const v = (key: string) => (s ? (s[key] ?? null) : null);
  return {
    cluster: r.cluster, type: r.type, node: r.node, vmid: r.type === "node" ? null : r.vmid, status: r.status, tags: r.tags, agent: r.agent,
    interfaces: r.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: i.addresses })),
    stale: r.stale_reason !== null, staleReason: r.stale_reason, seenAt: r.seen_at.toISOString(), goneAt: r.gone_at?.toISOString() ?? null,
    latest: {
      at: s?.collected_at.toISOString() ?? null,
      cpuPercent: v("cpu_percent"), cpus: v("cpus"), memoryUsedBytes: v("memory_used_bytes"), memoryTotalBytes: v("memory_total_bytes"),
      diskUsedBytes: v("disk_used_bytes"), diskTotalBytes: v("disk_total_bytes"),
      networkRxBytesPerSecond: v("network_rx_bytes_per_second"), networkTxBytesPerSecond: v("network_tx_bytes_per_second"),
      diskReadBytesPerSecond: v("disk_read_bytes_per_second"), diskWriteBytesPerSecond: v("disk_write_bytes_per_second"),
      uptimeSeconds: v("uptime_seconds"),
    },
    storage: storage.map((st) => ({
      storage: st.storage, type: st.type, shared: st.shared, active: st.active, totalBytes: st.total_bytes, usedBytes: st.used_bytes, availableBytes: st.available_bytes,
      usedPercent: st.total_bytes && st.used_bytes !== null ? Math.round((st.used_bytes / st.total_bytes) * 1000) / 10 : null,
      at: st.collected_at.toISOString(),
    })),
  };
}
