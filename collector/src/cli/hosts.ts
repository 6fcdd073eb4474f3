// `netmap hosts` as a table: one host a line, the headline figures the status page shows.
import type { HostSummary } from "../http/api-types.ts";
import { formatTable } from "./command-line.ts";

const percent = (value: number | null) => (value === null ? "-" : `${value.toFixed(0)}%`);

function age(seconds: number | null): string {
  if (seconds === null) return "never";
  if (seconds < 120) return `${Math.round(seconds)}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

/** The SSH address; else what the host reports, marked as not used; then any claim waiting for `netmap adopt`. */
function addressCell(h: HostSummary): string {
  const address = h.address ?? (h.addresses[0] ? `${h.addresses[0]} (unconfirmed)` : "-");
  return h.claims.length ? `${address}; claims ${h.claims.join(", ")}, unconfirmed` : address;
}

export function formatHostsTable(hosts: HostSummary[]): string {
  return formatTable([
    ["HOST", "STATUS", "LAST REPORT", "CPU", "MEM", "LOAD1", "FULLEST MOUNT", "ADDRESS"],
    ...hosts.map((h) => [
      h.hostname,
      h.agentId === null ? "no agent" : h.status,
      age(h.ageSeconds),
      percent(h.cpuPercent),
      percent(h.memoryPercent),
      h.load1 === null ? "-" : h.load1.toFixed(2),
      h.fullestMount ? `${h.fullestMount.mountpoint} ${percent(h.fullestMount.usedPercent)}` : "-",
      addressCell(h),
    ]),
  ]);
}
