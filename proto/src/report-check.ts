// What a HostReport may hold. The collector checks every report once, where
// bytes become a report (codec.ts), and refuses one that breaks a rule with a
// reason naming the field. The agent runs the same rules in repair mode
// before it sends, so an odd mount or process name on a real host is escaped
// or left out, never the reason the whole host goes unreported.
import { isIP } from "node:net";
import { CheckType, Protocol, type HostReport } from "../gen/netmap/v1/report.ts";
import { isAgentId } from "./subjects.ts";
import { NetMapError } from "../../lib/errors.ts";

/**
 * Far above what a real host reports (a busy Kubernetes node has a few
 * hundred interfaces and mounts and a few thousand listening sockets), low
 * enough that one agent cannot make the collector hold or write without
 * bound. Text limits are UTF-8 bytes.
 */
export const REPORT_LIMITS = {
  /** DNS' limit for a whole name. */
  hostnameBytes: 253,
  /** boot_id: the agent sends the kernel's UUID. */
  bootIdBytes: 64,
  /** agent_version, fs_type, interface and collector names (Linux: 15 bytes for an interface). */
  labelBytes: 64,
  /** os.*, cpu.model, disk names, process names. */
  textBytes: 256,
  /** mountpoint, device: PostgreSQL indexes them, and an index row holds at most 2704 bytes. */
  pathBytes: 1024,
  /** collectors[].error */
  errorBytes: 1024,
  disks: 4096,
  mounts: 4096,
  listeners: 16_384,
  interfaces: 4096,
  addressesPerInterface: 1024,
  /** cpu.times: the kernel's NR_CPUS tops out at 8192. */
  cpus: 8192,
  collectors: 64,
  /** checks[]: what one agent.yaml lists; a hundred is already a probe fleet's job. */
  checks: 256,
  /** containers: a busy Docker host runs a few hundred. */
  containers: 4096,
  portsPerContainer: 256,
  /** A container's networks and labels (Compose sets a dozen labels). */
  networksPerContainer: 64,
  labelsPerContainer: 256,
  /** ssh_auth.sources: the agent sends its top 20. */
  sshSources: 64,
  /** ssh_auth.fail2ban_jails: a host runs a handful. */
  fail2banJails: 64,
  /** checks[].target: a URL. */
  targetBytes: 2048,
} as const;

/** PostgreSQL's `integer`, the column of pids and core counts. */
export const INT32_MAX = 2 ** 31 - 1;
const PORT_MAX = 65_535;
/** Dates PostgreSQL and toISOString() agree on: from the epoch to the year 9999. */
const DATE_MIN_MS = 0;
const DATE_MAX_MS = Date.UTC(10_000, 0, 1) - 1;

/** Letters, digits, '-', '_' and '.': a host name as DNS, /etc/hosts and ssh_config take it. */
const HOSTNAME = /^[A-Za-z0-9._-]*$/;
const BOOT_ID = /^[A-Za-z0-9_-]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** A check's name: an alert label and a console row, so a plain token (agent config enforces it too). */
export const CHECK_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
/** C0, DEL, C1 and UTF-16 halves without their other half: none of them is text, and NUL breaks PostgreSQL. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A report that decodes but breaks a rule; the message names the field. */
export class ReportInvalidError extends NetMapError {
  constructor(message: string) {
    super("REPORT_INVALID", message);
  }
}

/**
 * Checks and normalises (MAC and IP addresses to lower case) a report in
 * place; throws ReportInvalidError naming the first field that breaks a rule.
 * Never repairs: a report that needs repairing did not come from our agent.
 */
export function checkReport(report: HostReport): HostReport {
  checkReportNormalised(report);
  return report;
}

/** checkReport, saying whether it normalised anything: if not, the report's bytes as received encode it exactly. */
export function checkReportNormalised(report: HostReport): boolean {
  const walk = new Walk(false);
  walkReport(report, walk);
  return walk.normalised;
}

/**
 * Makes a report the collector will take, in place, and says what it
 * changed: unprintable characters escaped, long text cut, items beyond a
 * count left out, an item with a value that cannot be stored (an address that
 * does not parse) dropped, a MAC that is not one emptied. Throws
 * ReportInvalidError only when the identity itself is wrong.
 */
export function fitReport(report: HostReport): string[] {
  const walk = new Walk(true);
  try {
    walkReport(report, walk);
  } catch (error) {
    if (error instanceof Dropped) throw new ReportInvalidError(walk.repairs.at(-1) ?? "report cannot be sent");
    throw error;
  }
  return walk.repairs;
}

/** Text with each unprintable character shown as \xHH (or \uHHHH for a lone surrogate half), for logs and database rows. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/** The longest prefix of `text` that fits `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) return text.slice(0, i);
    bytes += size;
    if (pair) i++;
  }
  return text;
}

function quote(value: string): string {
  const head = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return `"${printable(head)}"`;
}

/** Thrown in repair mode to leave out the item (or optional section) being walked. */
class Dropped extends Error {}

class Walk {
  readonly repairs: string[] = [];
  readonly repair: boolean;
  /** Whether a value was rewritten to its normal form (an address in lower case). */
  normalised = false;

  constructor(repair: boolean) {
    this.repair = repair;
  }

  problem(message: string): void {
    if (!this.repair) throw new ReportInvalidError(message);
    this.repairs.push(message);
  }

  /** Reject, or in repair mode leave out the item being walked. */
  drop(message: string): never {
    this.problem(message);
    throw new Dropped(message);
  }

  text(at: string, field: string, value: string, maxBytes: number): string {
    let text = value;
    UNPRINTABLE.lastIndex = 0;
    if (UNPRINTABLE.test(text)) {
      this.problem(`${path(at, field)} ${quote(text)} holds a control character`);
      text = printable(text);
    }
    // A UTF-16 unit is 1 to 3 bytes of UTF-8: most strings need no counting.
    if (text.length * 3 <= maxBytes) return text;
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > maxBytes) {
      this.problem(`${path(at, field)} is ${bytes} bytes, over the ${maxBytes}-byte limit`);
      text = truncateUtf8(text, maxBytes);
    }
    return text;
  }

  hostname(value: string): string {
    const text = this.text("", "hostname", value, REPORT_LIMITS.hostnameBytes);
    if (HOSTNAME.test(text)) return text;
    this.problem(`hostname ${quote(text)} has a character other than letters, digits, '-', '_' and '.'`);
    return text.replace(/[^A-Za-z0-9._-]/g, "-");
  }

  /** Items beyond `max` are an error, or in repair mode left out; each kept item goes through `check`. */
  items<T>(at: string, field: string, list: T[], max: number, check: (item: T, at: string) => void): T[] {
    const prefix = path(at, field);
    let items = list;
    if (items.length > max) {
      this.problem(`${prefix} has ${items.length} entries, over the limit of ${max}`);
      items = items.slice(0, max);
    }
    if (!this.repair) {
      for (let i = 0; i < items.length; i++) check(items[i]!, `${prefix}[${i}]`);
      return items;
    }
    return items.filter((item, i) => this.kept(() => check(item, `${prefix}[${i}]`)));
  }

  /** An optional message: checked when present, left out when repair mode cannot keep it. */
  section<T>(at: string, value: T | undefined, check: (value: T, at: string) => void): T | undefined {
    if (value === undefined) return undefined;
    return this.kept(() => check(value, at)) ? value : undefined;
  }

  uint(at: string, field: string, value: number, max: number): number {
    if (Number.isSafeInteger(value) && value >= 0 && value <= max) return value;
    if (Number.isSafeInteger(value) && value > max) this.drop(`${path(at, field)} ${value} is above ${max}`);
    return this.drop(`${path(at, field)} ${value} is not a whole number from 0 to ${max}`);
  }

  /** An optional integer: in repair mode a wrong one is left unset rather than its item dropped. */
  optionalUint(at: string, field: string, value: number | undefined, max: number): number | undefined {
    if (value === undefined || (Number.isSafeInteger(value) && value >= 0 && value <= max)) return value;
    return this.kept(() => this.uint(at, field, value, max)) ? value : undefined;
  }

  double(at: string, field: string, value: number): number {
    if (Number.isFinite(value)) return value;
    this.problem(`${path(at, field)} ${value} is not a finite number`);
    return 0;
  }

  /** A cumulative counter: finite and not negative, or the item is left out. */
  counter(at: string, field: string, value: number): number {
    if (Number.isFinite(value) && value >= 0) return value;
    return this.drop(`${path(at, field)} ${value} is not a finite count of 0 or more`);
  }

  optionalDouble(at: string, field: string, value: number | undefined): number | undefined {
    if (value === undefined || Number.isFinite(value)) return value;
    this.problem(`${path(at, field)} ${value} is not a finite number`);
    return undefined;
  }

  date(at: string, field: string, value: Date): Date {
    const ms = value.getTime();
    if (ms >= DATE_MIN_MS && ms <= DATE_MAX_MS) return value;
    return this.drop(`${path(at, field)} ${Number.isNaN(ms) ? "is not a date" : `${value.toISOString()} is outside 1970-9999`}`);
  }

  /** An IP address without a zone id (ssh and PostgreSQL take none), lower case. */
  ip(at: string, field: string, value: string): string {
    if (value.includes("%") || isIP(value) === 0) this.drop(`${path(at, field)} ${quote(value)} is not an IP address`);
    return this.lower(value);
  }

  mac(at: string, field: string, value: string): string {
    const mac = this.lower(value);
    if (mac === "" || MAC.test(mac)) return mac;
    this.problem(`${path(at, field)} ${quote(value)} is not a MAC address of the form aa:bb:cc:dd:ee:ff`);
    return "";
  }

  lower(value: string): string {
    const lower = value.toLowerCase();
    if (lower !== value) this.normalised = true;
    return lower;
  }

  kept(check: () => void): boolean {
    try {
      check();
      return true;
    } catch (error) {
      if (error instanceof Dropped) return false;
      throw error;
    }
  }
}

const L = REPORT_LIMITS;
const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;

function walkReport(r: HostReport, w: Walk): void {
  // The identity is not repaired: the agent builds it from values it checked itself.
  if (!r.agentId) w.drop("report has no agent_id");
  if (!isAgentId(r.agentId)) w.drop(`agent_id ${quote(r.agentId)} is not 1-64 characters of [a-z0-9_-]`);
  if (!r.bootId) w.drop("report has no boot_id");
  if (r.bootId.length > L.bootIdBytes || !BOOT_ID.test(r.bootId)) w.drop(`boot_id ${quote(r.bootId)} is not 1-${L.bootIdBytes} characters of [A-Za-z0-9_-]`);
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) w.drop(`report has an invalid seq ${r.seq}`);
  if (!r.collectedAt) w.drop("report has no collected_at");
  w.date("", "collectedAt", r.collectedAt);

  r.hostname = w.hostname(r.hostname);
  r.agentVersion = w.text("", "agentVersion", r.agentVersion, L.labelBytes);
  r.intervalSeconds = w.double("", "intervalSeconds", r.intervalSeconds);

  r.os = w.section("os", r.os, (os, at) => {
    os.distribution = w.text(at, "distribution", os.distribution, L.textBytes);
    os.release = w.text(at, "release", os.release, L.textBytes);
    os.kernel = w.text(at, "kernel", os.kernel, L.textBytes);
    os.architecture = w.text(at, "architecture", os.architecture, L.textBytes);
    os.virtualization = w.text(at, "virtualization", os.virtualization, L.textBytes);
    os.uptimeSeconds = w.double(at, "uptime_seconds", os.uptimeSeconds);
    if (os.bootTime && !w.kept(() => w.date(at, "boot_time", os.bootTime!))) os.bootTime = undefined;
  });
  r.cpu = w.section("cpu", r.cpu, (cpu, at) => {
    cpu.logicalCores = w.uint(at, "logical_cores", cpu.logicalCores, INT32_MAX);
    cpu.physicalCores = w.uint(at, "physical_cores", cpu.physicalCores, INT32_MAX);
    cpu.model = w.text(at, "model", cpu.model, L.textBytes);
    for (const field of ["usagePercent", "userPercent", "systemPercent", "iowaitPercent", "stealPercent", "limitCores", "limitUsagePercent"] as const) {
      cpu[field] = w.optionalDouble(at, field, cpu[field]);
    }
    cpu.load1 = w.double(at, "load1", cpu.load1);
    cpu.load5 = w.double(at, "load5", cpu.load5);
    cpu.load15 = w.double(at, "load15", cpu.load15);
    cpu.times = w.items(at, "times", cpu.times, L.cpus, (time, at) => {
      time.cpu = w.uint(at, "cpu", time.cpu, L.cpus - 1);
      for (const mode of CPU_MODES) time[mode] = w.counter(at, mode, time[mode]);
    });
  });
  r.memory = w.section("memory", r.memory, (memory, at) => {
    for (const field of ["totalBytes", "usedBytes", "availableBytes", "buffersCacheBytes", "swapTotalBytes", "swapUsedBytes"] as const) {
      memory[field] = w.uint(at, field, memory[field], Number.MAX_SAFE_INTEGER);
    }
    memory.limitBytes = w.optionalUint(at, "limit_bytes", memory.limitBytes, Number.MAX_SAFE_INTEGER);
    memory.limitUsedBytes = w.optionalUint(at, "limit_used_bytes", memory.limitUsedBytes, Number.MAX_SAFE_INTEGER);
    for (const field of ["freeBytes", "buffersBytes", "cachedBytes"] as const) {
      memory[field] = w.optionalUint(at, field, memory[field], Number.MAX_SAFE_INTEGER);
    }
  });
  r.disks = w.items("", "disks", r.disks, L.disks, (disk, at) => {
    disk.name = w.text(at, "name", disk.name, L.textBytes);
    disk.sizeBytes = w.uint(at, "size_bytes", disk.sizeBytes, Number.MAX_SAFE_INTEGER);
    disk.readBytesPerSecond = w.optionalDouble(at, "read_bytes_per_second", disk.readBytesPerSecond);
    disk.writeBytesPerSecond = w.optionalDouble(at, "write_bytes_per_second", disk.writeBytesPerSecond);
    disk.readBytesTotal = w.optionalUint(at, "read_bytes_total", disk.readBytesTotal, Number.MAX_SAFE_INTEGER);
    disk.writtenBytesTotal = w.optionalUint(at, "written_bytes_total", disk.writtenBytesTotal, Number.MAX_SAFE_INTEGER);
  });
  r.mounts = w.items("", "mounts", r.mounts, L.mounts, (mount, at) => {
    mount.mountpoint = w.text(at, "mountpoint", mount.mountpoint, L.pathBytes);
    mount.device = w.text(at, "device", mount.device, L.pathBytes);
    mount.fsType = w.text(at, "fs_type", mount.fsType, L.labelBytes);
    // PostgreSQL's bigint holds 2^63-1; MAX_SAFE_INTEGER keeps them exact in JavaScript too.
    for (const field of ["sizeBytes", "usedBytes", "availableBytes", "inodesTotal", "inodesUsed"] as const) {
      mount[field] = w.uint(at, field, mount[field], Number.MAX_SAFE_INTEGER);
    }
  });
  r.listeners = w.items("", "listeners", r.listeners, L.listeners, (listener, at) => {
    if (listener.protocol !== Protocol.PROTOCOL_TCP && listener.protocol !== Protocol.PROTOCOL_UDP) w.drop(`${at}.protocol ${listener.protocol} is neither TCP nor UDP`);
    listener.address = w.ip(at, "address", listener.address);
    listener.port = w.uint(at, "port", listener.port, PORT_MAX);
    listener.pid = w.optionalUint(at, "pid", listener.pid, INT32_MAX);
    listener.process = w.text(at, "process", listener.process, L.textBytes);
  });
  r.interfaces = w.items("", "interfaces", r.interfaces, L.interfaces, (nic, at) => {
    nic.name = w.text(at, "name", nic.name, L.labelBytes);
    nic.mac = w.mac(at, "mac", nic.mac);
    nic.addresses = w.items(at, "addresses", nic.addresses, L.addressesPerInterface, (a, at) => {
      a.address = w.ip(at, "address", a.address);
      a.prefixLength = w.uint(at, "prefix_length", a.prefixLength, a.address.includes(":") ? 128 : 32);
    });
    nic.speedMbps = w.optionalUint(at, "speed_mbps", nic.speedMbps, 2 ** 32 - 1);
    nic.rxBytesPerSecond = w.optionalDouble(at, "rx_bytes_per_second", nic.rxBytesPerSecond);
    nic.txBytesPerSecond = w.optionalDouble(at, "tx_bytes_per_second", nic.txBytesPerSecond);
    nic.rxBytesTotal = w.optionalUint(at, "rx_bytes_total", nic.rxBytesTotal, Number.MAX_SAFE_INTEGER);
    nic.txBytesTotal = w.optionalUint(at, "tx_bytes_total", nic.txBytesTotal, Number.MAX_SAFE_INTEGER);
  });
  r.checks = w.items("", "checks", r.checks, L.checks, (check, at) => {
    if (!CHECK_NAME.test(check.name)) w.drop(`${at}.name ${quote(check.name)} is not 1-64 characters of [A-Za-z0-9._-]`);
    if (check.type !== CheckType.CHECK_TYPE_HTTP && check.type !== CheckType.CHECK_TYPE_TCP) w.drop(`${at}.type ${check.type} is neither HTTP nor TCP`);
    check.target = w.text(at, "target", check.target, L.targetBytes);
    check.latencySeconds = w.optionalDouble(at, "latency_seconds", check.latencySeconds);
    if (check.latencySeconds !== undefined && check.latencySeconds < 0) {
      w.problem(`${at}.latency_seconds ${check.latencySeconds} is negative`);
      check.latencySeconds = undefined;
    }
    if (check.httpStatus !== undefined && (check.httpStatus < 100 || check.httpStatus > 599)) w.drop(`${at}.http_status ${check.httpStatus} is not an HTTP status`);
    check.certificateDaysLeft = w.optionalDouble(at, "certificate_days_left", check.certificateDaysLeft);
    check.error = w.text(at, "error", check.error, L.errorBytes);
    if (!check.checkedAt) w.drop(`${at} has no checked_at`);
    w.date(at, "checked_at", check.checkedAt);
  });
  r.sshAuth = w.section("ssh_auth", r.sshAuth, (ssh, at) => {
    ssh.log = w.text(at, "log", ssh.log, L.pathBytes);
    ssh.windowSeconds = w.double(at, "window_seconds", ssh.windowSeconds);
    ssh.failures = w.uint(at, "failures", ssh.failures, Number.MAX_SAFE_INTEGER);
    ssh.sources = w.items(at, "sources", ssh.sources, L.sshSources, (source, at) => {
      source.address = w.ip(at, "address", source.address);
      source.failures = w.uint(at, "failures", source.failures, Number.MAX_SAFE_INTEGER);
      source.lastUser = w.text(at, "last_user", source.lastUser, L.labelBytes);
    });
    ssh.fail2banJails = w.items(at, "fail2ban_jails", ssh.fail2banJails, L.fail2banJails, (jail, at) => {
      jail.name = w.text(at, "name", jail.name, L.labelBytes);
      for (const field of ["currentlyFailed", "totalFailed", "currentlyBanned", "totalBanned"] as const) jail[field] = w.uint(at, field, jail[field], Number.MAX_SAFE_INTEGER);
    });
  });
  r.containers = w.items("", "containers", r.containers, L.containers, (c, at) => {
    if (!CONTAINER_ID.test(c.id)) w.drop(`${at}.id ${quote(c.id)} is not 12-64 hexadecimal digits`);
    c.name = w.text(at, "name", c.name, L.textBytes);
    c.image = w.text(at, "image", c.image, L.textBytes);
    c.state = w.text(at, "state", c.state, L.labelBytes);
    c.health = w.text(at, "health", c.health, L.labelBytes);
    c.engine = w.text(at, "engine", c.engine, L.labelBytes);
    c.restartCount = w.uint(at, "restart_count", c.restartCount, INT32_MAX);
    if (c.startedAt && !w.kept(() => w.date(at, "started_at", c.startedAt!))) c.startedAt = undefined;
    if (c.exitCode !== undefined && !(Number.isInteger(c.exitCode) && Math.abs(c.exitCode) <= INT32_MAX)) c.exitCode = w.drop(`${at}.exit_code ${c.exitCode} is not an integer`);
    c.ports = w.items(at, "ports", c.ports, L.portsPerContainer, () => {}).map((port, i) => w.text(at, `ports[${i}]`, port, L.labelBytes));
    c.cpuPercent = w.optionalDouble(at, "cpu_percent", c.cpuPercent);
    for (const field of ["memoryUsedBytes", "memoryLimitBytes", "networkRxBytes", "networkTxBytes"] as const) c[field] = w.optionalUint(at, field, c[field], Number.MAX_SAFE_INTEGER);
    c.networks = w.items(at, "networks", c.networks, L.networksPerContainer, (network, at) => {
      network.name = w.text(at, "name", network.name, L.labelBytes);
      if (network.address !== "") network.address = w.ip(at, "address", network.address);
      network.mac = w.mac(at, "mac", network.mac);
    });
    const labels = Object.entries(c.labels);
    if (labels.length > L.labelsPerContainer) w.problem(`${at}.labels has ${labels.length} entries, over the limit of ${L.labelsPerContainer}`);
    c.labels = Object.fromEntries(labels.slice(0, L.labelsPerContainer).map(([k, v]) => [w.text(at, "labels key", k, L.textBytes), w.text(at, `labels[${JSON.stringify(k)}]`, v, L.pathBytes)]));
  });
  r.containerEngine = w.section("container_engine", r.containerEngine, (engine, at) => {
    engine.name = w.text(at, "name", engine.name, L.labelBytes);
    engine.socket = w.text(at, "socket", engine.socket, L.pathBytes);
  });
  r.collectors = w.items("", "collectors", r.collectors, L.collectors, (run, at) => {
    run.name = w.text(at, "name", run.name, L.labelBytes);
    run.durationSeconds = w.double(at, "duration_seconds", run.durationSeconds);
    run.error = w.text(at, "error", run.error, L.errorBytes);
  });
  r.agent = w.section("agent", r.agent, (agent, at) => {
    for (const field of ["spoolReports", "spoolBytes", "droppedReportsTotal", "reconnectsTotal", "residentBytes", "unspooledReportsTotal"] as const) {
      agent[field] = w.uint(at, field, agent[field], Number.MAX_SAFE_INTEGER);
    }
    agent.cpuSecondsTotal = w.double(at, "cpu_seconds_total", agent.cpuSecondsTotal);
  });
}

/** A field's path as the .proto names it: listeners[3].pid, os.boot_time. Built only for a message. */
function path(at: string, field: string): string {
  const name = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return at ? `${at}.${name}` : name;
}
