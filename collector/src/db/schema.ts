// The database as TypeScript sees it. Kept in step with db/migrations by hand;
// the integration tests exercise every column through the repositories.
import type { ColumnType, Generated, GeneratedAlways } from "kysely";
import type { AlertState, Severity } from "../alerts/engine.ts";
import type { Matcher } from "../alerts/silences.ts";

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/**
 * A timestamp the database fills in (DEFAULT now()) unless given. Not Generated<Timestamp>:
 * kysely unwraps one ColumnType, so that one would select as the ColumnType rather than a Date.
 */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** pg returns int8 as a string unless told otherwise; database.ts parses it to number. */
type Int8 = number;

export interface HostsTable {
  id: Generated<Int8>;
  agent_id: string | null;
  hostname: string;
  first_seen: DefaultedTimestamp;
  collected_at: Timestamp | null;
  received_at: Timestamp | null;
  boot_id: string | null;
  seq: Int8 | null;
  interval_seconds: number | null;
  cpu_percent: number | null;
  memory_percent: number | null;
  load1: number | null;
  logical_cores: number | null;
  memory_total_bytes: Int8 | null;
  fullest_mountpoint: string | null;
  fullest_mount_percent: number | null;
  addresses: ColumnType<string[], string[] | undefined, string[]>;
  /** The latest report, protobuf as the agent sent it (migration 080). */
  report: Buffer | null;
  /** The latest report's os part, as JSON: the host list reads it. */
  os: unknown;
  /** The latest report's agent version ("" in the report is null here): the hosts list and AgentVersionSkew show it. */
  agent_version: string | null;
  /** Digest of the interfaces last written to host_interfaces from the agent's reports. */
  interfaces_digest: string | null;
  // Topology (migration 002).
  site_id: Int8 | null;
  name: string | null;
  kind: ColumnType<string, string | undefined, string>;
  address: string | null;
  ssh_user: string | null;
  ssh_port: ColumnType<number, number | undefined, number>;
  via: string | null;
  parent: string | null;
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  source: ColumnType<string, string | undefined, string>;
  fact_sources: ColumnType<Record<string, string>, string | undefined, string>;
  /** The slug a person gave; null: derived from the name (migration 090). */
  slug: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ClientsTable {
  id: Generated<Int8>;
  name: string;
  slug: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SitesTable {
  id: Generated<Int8>;
  client_id: Int8;
  name: string;
  bastion: string | null;
  slug: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Samples and rollups (migration 015) are partitioned by time; the rollup tables (<raw>_1m, <raw>_1h) are built from series/catalogue.ts. */
export interface ReportSamplesTable {
  host_id: Int8;
  /** host_boots.id */
  boot: number;
  seq: Int8;
  collected_at: Timestamp;
  cpu_percent: number | null;
  cpu_user_percent: number | null;
  cpu_system_percent: number | null;
  cpu_iowait_percent: number | null;
  cpu_steal_percent: number | null;
  load1: number;
  load5: number;
  load15: number;
  memory_used_bytes: Int8;
  memory_available_bytes: Int8;
  swap_used_bytes: Int8;
  disk_read_bytes_per_second: number | null;
  disk_write_bytes_per_second: number | null;
  network_rx_bytes_per_second: number | null;
  network_tx_bytes_per_second: number | null;
}

export interface MountSamplesTable {
  host_id: Int8;
  mountpoint: string;
  collected_at: Timestamp;
  size_bytes: Int8;
  used_bytes: Int8;
  available_bytes: Int8;
  inodes_total: Int8;
  inodes_used: Int8;
}

export interface HostInterfacesTable {
  host_id: Int8;
  name: string;
  mac: string;
  addresses: string[];
  up: boolean;
  virtual: boolean;
}

export interface HostBootsTable {
  id: GeneratedAlways<number>;
  host_id: Int8;
  boot_id: string;
}

/** One row: how far the rollups are done, and from when inserts are logged as invalidating a rollup. */
export interface SeriesRollupStateTable {
  one: Generated<boolean>;
  minute_announced: Timestamp;
  minute_done: Timestamp;
  hour_done: Timestamp;
}

export interface SeriesRollupInvalidTable {
  series: string;
  host_id: Int8;
  minute: Timestamp;
}

export interface RejectedReportsTable {
  id: Generated<Int8>;
  received_at: DefaultedTimestamp;
  subject: string;
  reason: string;
  size_bytes: number;
}

export interface Database extends AlertTables, ProxmoxTables, SecurityTables, ContainerTables {
  hosts: HostsTable;
  clients: ClientsTable;
  alert_transitions: AlertTransitionsTable;
  sites: SitesTable;
  report_samples: ReportSamplesTable;
  mount_samples: MountSamplesTable;
  host_interfaces: HostInterfacesTable;
  rejected_reports: RejectedReportsTable;
  host_boots: HostBootsTable;
  series_rollup_state: SeriesRollupStateTable;
  series_rollup_invalid: SeriesRollupInvalidTable;
}

// Alerts (migrations 003 and 005): each alert's current episode, every delivery
// attempt to a notifier, the silences.
export interface AlertTables {
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
  alert_outbox: AlertOutboxTable;
  silences: SilencesTable;
}

/** Transitions stored with the alert's move, waiting to be sent (alerts/outbox.ts). */
export interface AlertOutboxTable {
  id: GeneratedAlways<Int8>;
  /** { alert, to }: the Transition as JSON, dates as ISO strings. */
  transition: Json<{ alert: Record<string, unknown>; to: "firing" | "resolved" }>;
  created_at: DefaultedTimestamp;
}

/** jsonb written as JSON text, read back parsed. */
type Json<T> = ColumnType<T, string, string>;

export interface AlertsTable {
  fingerprint: string;
  rule: string;
  severity: Severity;
  labels: Json<Record<string, string>>;
  annotations: Json<Record<string, string>>;
  state: AlertState;
  value: number;
  active_since: Timestamp;
  starts_at: Timestamp | null;
  ends_at: Timestamp | null;
  host_id: Int8 | null;
  updated_at: DefaultedTimestamp;
  acknowledged_by: string | null;
  acknowledged_at: Timestamp | null;
  ack_comment: string | null;
  muted: Generated<boolean>;
}

export interface AlertTransitionsTable {
  id: GeneratedAlways<Int8>;
  fingerprint: string;
  at: Timestamp;
  from_state: AlertState | null;
  to_state: AlertState;
  value: number;
}

export interface AlertDeliveriesTable {
  id: GeneratedAlways<Int8>;
  delivery_id: string;
  receiver: string;
  fingerprints: string[];
  attempt: number;
  at: Timestamp;
  status: number | null;
  error: string | null;
  delivered: boolean;
  final: boolean;
}

export interface SilencesTable {
  id: Generated<string>;
  matchers: Json<Matcher[]>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_by: string;
  comment: string;
  created_at: DefaultedTimestamp;
}

// Proxmox VE discovery (migration 004).

/** One node or guest a cluster ever listed, keyed by the host it became. */
export interface ProxmoxResourcesTable {
  host_id: Int8;
  cluster: string;
  type: "node" | "qemu" | "lxc";
  node: string;
  /** 0 for a node. */
  vmid: number;
  name: string;
  status: string;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  agent: string | null;
  /** The last known interfaces, as JSON. */
  interfaces: ColumnType<Array<{ name: string; mac: string; addresses: string[] }>, string | undefined, string>;
  /** Latest figures and the counters rates are computed from, as JSON. */
  latest: ColumnType<Record<string, unknown>, string | undefined, string>;
  stale_reason: string | null;
  first_seen: DefaultedTimestamp;
  seen_at: DefaultedTimestamp;
  gone_at: Timestamp | null;
  /** The newest backup archive (migration 050), as of backups_checked_at. */
  last_backup_at: Timestamp | null;
  last_backup_bytes: Int8 | null;
  last_backup_volid: string | null;
  backups_checked_at: Timestamp | null;
}

export interface ProxmoxSamplesTable {
  host_id: Int8;
  collected_at: Timestamp;
  status: string;
  cpu_percent: number | null;
  cpus: number | null;
  memory_used_bytes: Int8 | null;
  memory_total_bytes: Int8 | null;
  disk_used_bytes: Int8 | null;
  disk_total_bytes: Int8 | null;
  network_rx_bytes_per_second: number | null;
  network_tx_bytes_per_second: number | null;
  disk_read_bytes_per_second: number | null;
  disk_write_bytes_per_second: number | null;
  uptime_seconds: Int8 | null;
}

export interface ProxmoxStorageSamplesTable {
  host_id: Int8;
  storage: string;
  collected_at: Timestamp;
  type: string;
  shared: boolean;
  active: boolean;
  total_bytes: Int8 | null;
  used_bytes: Int8 | null;
  available_bytes: Int8 | null;
}

interface ProxmoxTables {
  proxmox_resources: ProxmoxResourcesTable;
  proxmox_samples: ProxmoxSamplesTable;
  proxmox_storage_samples: ProxmoxStorageSamplesTable;
  proxmox_tasks: ProxmoxTasksTable;
}

/** A guest action and the PVE task carrying it out (migration 050). */
export interface ProxmoxTasksTable {
  id: Generated<Int8>;
  host_id: Int8 | null;
  cluster: string;
  node: string;
  guest_type: "qemu" | "lxc";
  vmid: number;
  action: string;
  snapshot: string | null;
  upid: string;
  requested_by: string;
  status: ColumnType<"running" | "ok" | "failed", "running" | "ok" | "failed" | undefined, "running" | "ok" | "failed">;
  exit_status: string | null;
  started_at: DefaultedTimestamp;
  ended_at: Timestamp | null;
}

// Security (migration 017): named API tokens (hashes only) and the append-only audit trail.
export interface SecurityTables {
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  agent_identities: AgentIdentitiesTable;
  terminal_sessions: TerminalSessionsTable;
  terminal_recording_chunks: TerminalRecordingChunksTable;
  terminal_tickets: TerminalTicketsTable;
}

export interface TerminalTicketsTable {
  digest: Buffer;
  caller_name: string;
  caller_role: string;
  host: string;
  expires_at: Timestamp;
}

export interface TerminalSessionsTable {
  id: Generated<Int8>;
  actor: string;
  role: string;
  host: string;
  chain: Json<string[]>;
  source: string;
  started_at: DefaultedTimestamp;
  ended_at: Timestamp | null;
  exit_status: number | null;
  end_reason: string | null;
  width: number;
  height: number;
  input_recorded: boolean;
  recorded_bytes: ColumnType<Int8, Int8 | undefined, Int8>;
  truncated: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface TerminalRecordingChunksTable {
  session_id: Int8;
  seq: number;
  events: string;
}

export interface AgentIdentitiesTable {
  host: string;
  agent_id: string;
  public_key: string;
  created_at: DefaultedTimestamp;
}

export interface ApiTokensTable {
  name: string;
  role: "viewer" | "operator" | "admin";
  token_sha256: Buffer;
  created_by: string;
  created_at: DefaultedTimestamp;
  last_used_at: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<Int8>;
  at: DefaultedTimestamp;
  actor: string;
  role: string;
  action: string;
  target: string;
  source: string;
  outcome: string;
  detail: Json<Record<string, unknown>>;
}

// Containers (migration 040): each reporting host's last listing, and each container it listed.
export interface ContainerTables {
  container_engines: ContainerEnginesTable;
  containers: ContainersTable;
}

export interface ContainerEnginesTable {
  host_id: Int8;
  engine: ColumnType<string, string | undefined, string>;
  socket: ColumnType<string, string | undefined, string>;
  digest: string;
  stale_reason: string | null;
  synced_at: DefaultedTimestamp;
}

export interface ContainersTable {
  host_id: Int8;
  parent_host_id: Int8;
  name: string;
  container_id: string;
  engine: string;
  image: string;
  state: string;
  health: ColumnType<string, string | undefined, string>;
  started_at: Timestamp | null;
  networks: ColumnType<Array<{ name: string; address: string; mac: string }>, string | undefined, string>;
  ports: ColumnType<string[], string[] | undefined, string[]>;
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  compose_project: string | null;
  compose_service: string | null;
  stale_reason: string | null;
  first_seen: DefaultedTimestamp;
  seen_at: DefaultedTimestamp;
  gone_at: Timestamp | null;
}
