// The JSON the HTTP API answers with, declared once: the handlers build these types and the
// web console (web/src) imports them, so a field renamed on one side fails tsc on the other.
// Pure types only: the web code type-checks this file without Node's or the database's types.
import type { HostStatus } from "../hosts/status.ts";
import type { Hop, Topology } from "../topology/model.ts";

export type { HostStatus } from "../hosts/status.ts";
export type { Client, Hop, HostKind, Site, Topology, TopologyHost } from "../topology/model.ts";

export interface HostOs {
  distribution: string;
  release: string;
  kernel: string;
  architecture: string;
  virtualization: string;
}

/** One row of GET /api/v1/hosts. */
export interface HostSummary {
  id: number;
  agentId: string | null;
  hostname: string;
  status: HostStatus;
  lastSeen: string | null;
  ageSeconds: number | null;
  os: HostOs | null;
  cpuPercent: number | null;
  memoryPercent: number | null;
  load1: number | null;
  logicalCores: number | null;
  memoryTotalBytes: number | null;
  fullestMount: { mountpoint: string; usedPercent: number } | null;
  /** What the agent or Proxmox reports: shown, never an SSH target. */
  addresses: string[];
  /** The address SSH uses: written or confirmed by a person; null when there is none. */
  address: string | null;
  /** CLIENT/SITE/NAME of the placed hosts this agent claims to be, unconfirmed (`netmap adopt`). */
  claims: string[];
  /** What the host's agent reports as its version; null without an agent report. */
  agentVersion: string | null;
}

export interface HostsResponse {
  hosts: HostSummary[];
  generatedAt: string;
}

/** The guest actions of POST /api/v1/hosts/:id/actions/:action (docs/proxmox.md, "Guest actions"). */
export const GUEST_ACTIONS = ["start", "shutdown", "stop", "reboot", "suspend", "resume", "snapshot", "rollback", "delsnapshot"] as const;
export type GuestAction = (typeof GUEST_ACTIONS)[number];

/** A guest action and the PVE task carrying it out (GET /api/v1/tasks/:id). */
export interface GuestTask {
  id: number;
  /** Null once the host was deleted. */
  hostId: number | null;
  cluster: string;
  node: string;
  type: "qemu" | "lxc";
  vmid: number;
  action: GuestAction;
  snapshot: string | null;
  upid: string;
  requestedBy: string;
  /** running until PVE's task stopped; then ok (exitstatus "OK") or failed (its exitstatus). */
  status: "running" | "ok" | "failed";
  exitStatus: string | null;
  startedAt: string;
  endedAt: string | null;
}

/** A Proxmox guest's backup coverage (GET /api/v1/backups): never backed up first, then oldest. */
export interface GuestBackup {
  hostId: number;
  host: string;
  cluster: string;
  node: string;
  type: "qemu" | "lxc";
  vmid: number;
  /** The newest archive; null: none found at checkedAt. */
  lastBackupAt: string | null;
  sizeBytes: number | null;
  volid: string | null;
  /** The last cycle that listed every backup storage; null: never (coverage unknown). */
  checkedAt: string | null;
}

/** A snapshot of a guest, as PVE lists it (GET /api/v1/hosts/:id/snapshots). */
export interface GuestSnapshot {
  name: string;
  description: string;
  /** Null when PVE gives no time. */
  takenAt: string | null;
  parent: string | null;
  /** The guest's RAM was saved with it (QEMU). */
  withMemory: boolean;
}

/** What Proxmox knows of a node or guest (GET /api/v1/hosts/:id, `proxmox`). */
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
  /**
   * A guest's newest backup archive (vzdump or PBS) as of `checkedAt`, the last cycle that
   * listed every backup storage; `at` null: none then. Null for a node, or never checked.
   */
  backup: { at: string | null; sizeBytes: number | null; volid: string | null; checkedAt: string } | null;
}

// The agent's last report as the detail gives it: the fields of proto/netmap/v1/report.proto
// the console reads (the handler passes the decoded messages, which carry these and more).
export interface CpuJson {
  model: string;
  physicalCores: number;
  logicalCores: number;
  usagePercent?: number | undefined;
  userPercent?: number | undefined;
  systemPercent?: number | undefined;
  iowaitPercent?: number | undefined;
  stealPercent?: number | undefined;
  load1: number;
  load5: number;
  load15: number;
}

export interface MemoryJson {
  totalBytes: number;
  availableBytes: number;
  usedBytes: number;
  buffersCacheBytes: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
}

export interface MountJson {
  mountpoint: string;
  device: string;
  fsType: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  inodesTotal: number;
  inodesUsed: number;
  usedPercent: number | null;
}

export interface DiskJson {
  name: string;
  sizeBytes: number;
  readBytesPerSecond?: number | undefined;
  writeBytesPerSecond?: number | undefined;
}

export interface InterfaceJson {
  name: string;
  mac: string;
  up: boolean;
  virtual: boolean;
  speedMbps?: number | undefined;
  addresses: Array<{ address: string; prefixLength: number }>;
  rxBytesPerSecond?: number | undefined;
  txBytesPerSecond?: number | undefined;
}

export interface ListenerJson {
  protocol: string;
  address: string;
  port: number;
  process: string;
  pid?: number | undefined;
}

export interface CollectorRunJson {
  name: string;
  success: boolean;
  error: string;
  durationSeconds: number;
}

/** A synthetic check's latest result, as the agent ran it (`checks:` in agent.yaml). */
export interface CheckJson {
  name: string;
  type: "http" | "tcp";
  target: string;
  success: boolean;
  latencySeconds?: number | undefined;
  httpStatus?: number | undefined;
  certificateDaysLeft?: number | undefined;
  error: string;
  checkedAt: string;
}

/** Failed SSH authentications in the agent's window (`auth_log:` in agent.yaml), the most failing sources first. */
export interface SshAuthJson {
  log: string;
  windowSeconds: number;
  failures: number;
  sources: Array<{ address: string; failures: number; lastUser: string }>;
  /** fail2ban's jails when it runs on the host: failed and banned, now and in total. */
  fail2banJails: Array<{ name: string; currentlyFailed: number; totalFailed: number; currentlyBanned: number; totalBanned: number }>;
}

/** A container as the agent last read it from Docker or Podman (`containers:` in agent.yaml). */
export interface ContainerJson {
  id: string;
  name: string;
  image: string;
  state: string;
  health: string;
  restartCount: number;
  startedAt: string | null;
  exitCode?: number | undefined;
  ports: string[];
  cpuPercent?: number | undefined;
  memoryUsedBytes?: number | undefined;
  memoryLimitBytes?: number | undefined;
  networkRxBytes?: number | undefined;
  networkTxBytes?: number | undefined;
  engine: string;
}

/** GET /api/v1/hosts/:id `host`: the summary, what Proxmox knows, and the agent's last report when there is one. */
/** What the SNMP poller knows of a network device (null for a host that is none). */
export interface NetworkDeviceDetail {
  entry: string;
  address: string;
  sysName: string | null;
  sysDescr: string;
  sysObjectId: string | null;
  chassisId: string | null;
  uptimeSeconds: number | null;
  polledAt: string | null;
  pollMs: number | null;
  reachable: boolean;
  error: string | null;
  interfaces: Array<{
    ifIndex: number; name: string; alias: string; mac: string | null; adminUp: boolean | null; oper: string | null; speedBps: number | null;
    inBitsPerSecond: number | null; outBitsPerSecond: number | null; inErrorsPerSecond: number | null; outErrorsPerSecond: number | null;
  }>;
  /** What its LLDP and ARP tables show, with the NetMap host at the other end when known. */
  neighbours: Array<{ kind: "lldp" | "arp"; localPort: string; name: string | null; port: string | null; address: string | null; mac: string | null; hostId: number | null }>;
}

/** What a host of kind container is, as its host's agent listed it (GET /api/v1/hosts/:id, `container`). */
export interface ContainerDetail {
  /** The host it runs on. */
  parent: { id: number; name: string };
  /** The engine's name for it: `netmap container ACTION PARENT/NAME`. */
  name: string;
  containerId: string;
  engine: string;
  image: string;
  state: string;
  health: string;
  startedAt: string | null;
  networks: Array<{ name: string; address: string; mac: string }>;
  ports: string[];
  labels: Record<string, string>;
  compose: { project: string; service: string | null } | null;
  stale: boolean;
  staleReason: string | null;
  seenAt: string;
  goneAt: string | null;
}

export interface HostDetail extends HostSummary {
  proxmox: ProxmoxDetail | null;
  network: NetworkDeviceDetail | null;
  container: ContainerDetail | null;
  intervalSeconds?: number | null;
  uptimeSeconds?: number | null;
  bootTime?: string | null;
  cpu?: CpuJson | null;
  memory?: MemoryJson | null;
  disks: DiskJson[];
  mounts: MountJson[];
  listeners: ListenerJson[];
  interfaces: InterfaceJson[];
  collectors: CollectorRunJson[];
  checks: CheckJson[];
  sshAuth: SshAuthJson | null;
  containers: ContainerJson[];
  /** The agent's own health: spool, dropped reports, reconnects, its RSS and CPU. */
  agent?: { spoolReports: number; spoolBytes: number; droppedReportsTotal: number; reconnectsTotal: number; residentBytes: number; cpuSecondsTotal: number; unspooledReportsTotal: number } | null;
}

export type SeriesSource = "agent" | "proxmox" | "snmp";
export type SeriesUnit = "ratio" | "bytes" | "bytes_per_second" | "seconds" | "1";

/** GET /api/v1/hosts/:id/series. Points are [Unix seconds, value]. */
/** GET /api/v1/alerts/:fingerprint/history: the alert's transitions, newest first; `from` null for its first state. */
export interface AlertHistoryResponse {
  fingerprint: string;
  transitions: Array<{ at: string; from: AlertJson["state"] | null; to: AlertJson["state"]; value: number }>;
}

/** GET /api/v1/hosts/sparklines: per host id, CPU and memory in % a point a step over [from, to), null where no sample. */
export interface SparklinesResponse {
  from: number;
  to: number;
  step: number;
  hosts: Record<number, { cpu: Array<number | null>; memory: Array<number | null> }>;
}

export interface SeriesResponse {
  host: { id: number; hostname: string };
  metric: string;
  unit: SeriesUnit;
  /** Which samples were read (agent reports or Proxmox), whether or not they hold any in the range. */
  source: SeriesSource;
  /** The finest tier read: raw samples, or minute or hour rollups (means); newer than its rollups, the raw samples in its buckets. */
  resolution: "raw" | "minute" | "hour";
  from: number;
  to: number;
  /** Bucket width in seconds when points are bucket means, null for raw samples. */
  step: number | null;
  series: Array<{ labels: Record<string, string>; points: Array<[number, number]> }>;
}

export type AlertSeverity = "info" | "warning" | "critical";

/** One of GET /api/v1/alerts. */
export interface AlertJson {
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  /** Open alerts are pending or firing; "resolved" only in an alert's history. */
  state: "pending" | "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeSince: string;
  startsAt: string | null;
  hostId: number | null;
  acknowledged: { by: string; at: string; comment: string } | null;
}

export interface MatcherJson {
  name: string;
  value: string;
  /** The value is a regular expression, anchored at both ends as Alertmanager's. */
  isRegex: boolean;
}

export interface SilenceJson {
  id: string;
  matchers: MatcherJson[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt: string;
  status?: { state: "pending" | "active" | "expired" };
}

/** POST /api/v1/silences: matchers and either endsAt or durationSeconds. */
export interface SilenceRequest {
  matchers: MatcherJson[];
  startsAt?: string;
  endsAt?: string;
  durationSeconds?: number;
  createdBy?: string;
  comment?: string;
}

export interface DeliveryJson {
  deliveryId: string;
  receiver: string;
  fingerprints: string[];
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  delivered: boolean;
  final: boolean;
}

export interface AlertsResponse { alerts: AlertJson[] }
export interface SilencesResponse { silences: SilenceJson[] }
export interface DeliveriesResponse { deliveries: DeliveryJson[] }
export interface AckResponse { fingerprint: string; acknowledged: { by: string; at: string; comment: string } }
/** Every client, site and host has its slug filled in, given or derived. */
export interface TopologyResponse { topology: Topology; generatedAt: string }
export interface RouteResponse { host: string; hops: Array<Hop & { ssh: string }> }
/** The error body of every non-2xx answer (collector/src/errors.ts). */
export interface ErrorResponse { error: { code: string; message: string } }

/** A recorded terminal session (GET /api/v1/sessions). */
export interface TerminalSessionSummary {
  id: number;
  actor: string;
  role: string;
  /** client/site/name of the target. */
  host: string;
  /** Every hop, first connection first: "client/site/name user@address:port". */
  chain: string[];
  source: string;
  startedAt: string;
  endedAt: string | null;
  exitStatus: number | null;
  /** exit, closed, idle, error; null while the session runs. */
  endReason: string | null;
  width: number;
  height: number;
  inputRecorded: boolean;
  recordedBytes: number;
  truncated: boolean;
}
export interface SessionsResponse { sessions: TerminalSessionSummary[] }
/** POST /api/v1/terminal/:host/ticket: what the browser puts in Sec-WebSocket-Protocol as `ticket.<ticket>`. */
export interface TerminalTicketResponse { ticket: string; expiresInSeconds: number; protocol: string }

/**
 * What the collector sends on the terminal WebSocket as text frames (the remote output is sent
 * as binary frames; the browser sends keystrokes as binary frames and TerminalClientMessage as text).
 */
export type TerminalServerMessage =
  | { type: "hop"; index: number; hop: string; state: "connecting" | "connected" | "failed"; of: number }
  | { type: "ready"; session: number; host: string }
  | {
      type: "error";
      code: string;
      message: string;
      /** The hop that failed and why, when one did. */
      hop?: string;
      reason?: "timeout" | "refused" | "auth" | "key_changed" | "error";
      pinned?: string[];
      offered?: string;
    }
  | { type: "exit"; status: number | null; reason: "exit" | "idle" | "closed" | "error" };
export type TerminalClientMessage = { type: "resize"; cols: number; rows: number };
