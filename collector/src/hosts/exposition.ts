// Every host's latest report as node_exporter would have exposed it (GET /metrics/hosts), so
// dashboards and alert rules written for node_exporter work on hosts Prometheus cannot reach.
// Names, types, units and labels are node_exporter's; what the report does not carry is left
// out rather than made up. Pure: the route reads the hosts (repository.ts) and sends this text.
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import { promLabelValue } from "../text/escape.ts";

export interface ExportedHost {
  /** Set only when two hosts would otherwise share every label: disambiguates their series. */
  id?: number;
  /** The host's name in the topology, else what its agent calls it. */
  instance: string;
  client: string | null;
  site: string | null;
  /** Reporting (up or stale). A host that is down exports netmap_host_up 0 and nothing else. */
  up: boolean;
  report: HostReport;
}

type Labels = Array<[string, string]>;
type Sample = [Labels, number];

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples(report: HostReport): Sample[];
}

const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;

/** Node's os.arch() names as uname -m (node_uname_info's machine) gives them. */
const UNAME_MACHINE: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7l", ia32: "i686", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [[[], value]]);

function memory(field: string, help: string, value: (m: NonNullable<HostReport["memory"]>) => number | undefined): Family {
  return { name: `node_memory_${field}_bytes`, type: "gauge", help: `Memory information field ${help}.`, samples: (r) => one(r.memory && value(r.memory)) };
}

function mounts(name: string, help: string, value: (m: HostReport["mounts"][number]) => number): Family {
  return {
    name,
    type: "gauge",
    help,
    samples: (r) => r.mounts.map((m) => [[["device", m.device], ["fstype", m.fsType], ["mountpoint", m.mountpoint]], value(m)]),
  };
}

function perDevice<T extends { name: string }>(list: (r: HostReport) => T[], value: (item: T) => number | undefined): (r: HostReport) => Sample[] {
  return (r) => list(r).flatMap((item): Sample[] => {
    const v = value(item);
    return v === undefined ? [] : [[[["device", item.name]], v]];
  });
}

const FAMILIES: Family[] = [
  {
    name: "node_cpu_seconds_total",
    type: "counter",
    help: "Seconds the CPUs spent in each mode.",
    samples: (r) => (r.cpu?.times ?? []).flatMap((t) => CPU_MODES.map((mode): Sample => [[["cpu", String(t.cpu)], ["mode", mode]], t[mode]])),
  },
  { name: "node_load1", type: "gauge", help: "1m load average.", samples: (r) => one(r.cpu?.load1) },
  { name: "node_load5", type: "gauge", help: "5m load average.", samples: (r) => one(r.cpu?.load5) },
  { name: "node_load15", type: "gauge", help: "15m load average.", samples: (r) => one(r.cpu?.load15) },
  memory("MemTotal", "MemTotal_bytes", (m) => m.totalBytes),
  memory("MemAvailable", "MemAvailable_bytes", (m) => m.availableBytes),
  memory("MemFree", "MemFree_bytes", (m) => m.freeBytes),
  memory("Buffers", "Buffers_bytes", (m) => m.buffersBytes),
  memory("Cached", "Cached_bytes", (m) => m.cachedBytes),
  memory("SwapTotal", "SwapTotal_bytes", (m) => m.swapTotalBytes),
  memory("SwapFree", "SwapFree_bytes", (m) => m.swapTotalBytes - m.swapUsedBytes),
  mounts("node_filesystem_size_bytes", "Filesystem size in bytes.", (m) => m.sizeBytes),
  mounts("node_filesystem_free_bytes", "Filesystem free space in bytes.", (m) => m.sizeBytes - m.usedBytes),
  mounts("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", (m) => m.availableBytes),
  mounts("node_filesystem_files", "Filesystem total file nodes.", (m) => m.inodesTotal),
  mounts("node_filesystem_files_free", "Filesystem total free file nodes.", (m) => m.inodesTotal - m.inodesUsed),
  { name: "node_disk_read_bytes_total", type: "counter", help: "The total number of bytes read successfully.", samples: perDevice((r) => r.disks, (d) => d.readBytesTotal) },
  { name: "node_disk_written_bytes_total", type: "counter", help: "The total number of bytes written successfully.", samples: perDevice((r) => r.disks, (d) => d.writtenBytesTotal) },
  { name: "node_network_receive_bytes_total", type: "counter", help: "Network device statistic receive_bytes.", samples: perDevice((r) => r.interfaces, (i) => i.rxBytesTotal) },
  { name: "node_network_transmit_bytes_total", type: "counter", help: "Network device statistic transmit_bytes.", samples: perDevice((r) => r.interfaces, (i) => i.txBytesTotal) },
  { name: "node_network_up", type: "gauge", help: "Value is 1 if operstate is 'up', 0 otherwise.", samples: perDevice((r) => r.interfaces, (i) => (i.up ? 1 : 0)) },
  {
    name: "node_network_speed_bytes",
    type: "gauge",
    help: "Network device property: speed_bytes.",
    samples: perDevice((r) => r.interfaces, (i) => (i.speedMbps === undefined ? undefined : i.speedMbps * 125_000)),
  },
  { name: "node_boot_time_seconds", type: "gauge", help: "Node boot time, in unixtime.", samples: (r) => one(r.os?.bootTime && r.os.bootTime.getTime() / 1000) },
  // When the agent collected the report: node_time_seconds - node_boot_time_seconds is the uptime dashboards show.
  { name: "node_time_seconds", type: "gauge", help: "System time in seconds since epoch (1970).", samples: (r) => one(r.collectedAt && r.collectedAt.getTime() / 1000) },
  {
    name: "node_uname_info",
    type: "gauge",
    help: "Labeled system information as provided by the uname system call.",
    samples: (r) =>
      r.os
        ? [[[["machine", UNAME_MACHINE[r.os.architecture] ?? r.os.architecture], ["nodename", r.hostname], ["release", r.os.kernel], ["sysname", "Linux"]], 1]]
        : [],
  },
  {
    name: "node_os_info",
    type: "gauge",
    help: "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
    samples: (r) => (r.os ? [[[["name", r.os.distribution], ["version_id", r.os.release]], 1]] : []),
  },
];

/** The exposition text, families in a fixed order, each family's samples together as the format requires. */
export function nodeExporterText(hosts: ExportedHost[]): string {
  const lines: string[] = [];
  const reporting = hosts.filter((h) => h.up);
  for (const family of FAMILIES) {
    const rows = reporting.flatMap((host) => family.samples(host.report).map(([labels, value]) => sample(family.name, hostLabels(host), labels, value)));
    if (rows.length) lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`, ...rows);
  }
  lines.push("# HELP netmap_host_up 1 when the host's agent reports, 0 when it is down (no node_* sample is exported for it then).", "# TYPE netmap_host_up gauge");
  for (const host of hosts) lines.push(sample("netmap_host_up", hostLabels(host), [], host.up ? 1 : 0));
  return `${lines.join("\n")}\n`;
}

function hostLabels(host: ExportedHost): Labels {
  const labels: Labels = [["instance", host.instance]];
  if (host.client) labels.push(["netmap_client", host.client]);
  if (host.site) labels.push(["netmap_site", host.site]);
  if (host.id !== undefined) labels.push(["netmap_host_id", String(host.id)]);
  return labels;
}

function sample(name: string, host: Labels, own: Labels, value: number): string {
  const labels = [...host, ...own].map(([key, v]) => `${key}=${promLabelValue(v)}`).join(",");
  return `${name}{${labels}} ${formatValue(value)}`;
}

/** Go's ParseFloat reads what String() writes, "1e+21" included; only the non-finite need the format's spelling. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}
