// The time-series tables and their tiers, in one place: the migration made them
// (db/migrations/2026_12_01_015_partitioned_series.ts), housekeeping partitions and
// rolls them up, hosts/series.ts reads them.

export interface SeriesTable {
  /** The raw table; its rollups are <raw>_1m and <raw>_1h. */
  raw: "report_samples" | "mount_samples" | "proxmox_samples" | "proxmox_storage_samples" | "snmp_interface_samples" | "check_samples";
  /** Columns that tell a host's series apart (a mount point, a storage). */
  labels: readonly string[];
  /** Numeric columns rolled up as mean (same name), _min and _max. */
  metrics: readonly string[];
}

export const SERIES_TABLES: readonly SeriesTable[] = Object.freeze([
  {
    raw: "report_samples",
    labels: [],
    metrics: [
      "cpu_percent", "cpu_user_percent", "cpu_system_percent", "cpu_iowait_percent", "cpu_steal_percent", "load1", "load5", "load15",
      "memory_used_bytes", "memory_available_bytes", "swap_used_bytes", "disk_read_bytes_per_second", "disk_write_bytes_per_second",
      "network_rx_bytes_per_second", "network_tx_bytes_per_second",
    ],
  },
  { raw: "mount_samples", labels: ["mountpoint"], metrics: ["size_bytes", "used_bytes", "available_bytes", "inodes_total", "inodes_used"] },
  {
    raw: "proxmox_samples",
    labels: [],
    metrics: [
      "cpu_percent", "cpus", "memory_used_bytes", "memory_total_bytes", "disk_used_bytes", "disk_total_bytes",
      "network_rx_bytes_per_second", "network_tx_bytes_per_second", "disk_read_bytes_per_second", "disk_write_bytes_per_second", "uptime_seconds",
    ],
  },
  { raw: "proxmox_storage_samples", labels: ["storage"], metrics: ["total_bytes", "used_bytes", "available_bytes"] },
  { raw: "snmp_interface_samples", labels: ["interface"], metrics: ["oper_up", "in_bps", "out_bps", "in_errors_per_second", "out_errors_per_second"] },
  { raw: "check_samples", labels: ["check_name"], metrics: ["up", "latency_seconds"] },
]);

export type TierName = "raw" | "minute" | "hour";
export type PartitionWidth = "day" | "week" | "month";

export interface Tier {
  name: TierName;
  /** Table name suffix after the raw table's name. */
  suffix: "" | "_1m" | "_1h";
  /** Width of one bucket; 0 for raw samples. */
  seconds: number;
  /** The time column. */
  time: "collected_at" | "bucket";
  partition: PartitionWidth;
}

export const TIERS: readonly Tier[] = Object.freeze([
  { name: "raw", suffix: "", seconds: 0, time: "collected_at", partition: "day" },
  { name: "minute", suffix: "_1m", seconds: 60, time: "bucket", partition: "week" },
  { name: "hour", suffix: "_1h", seconds: 3600, time: "bucket", partition: "month" },
]);

export const tierTable = (table: SeriesTable, tier: Tier) => `${table.raw}${tier.suffix}`;

/** Buckets are aligned on this origin whatever the session's time zone (date_bin, not date_trunc). */
export const BUCKET_ORIGIN = "2000-01-01T00:00:00Z";
