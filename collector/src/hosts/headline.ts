// How a report is shown: its headline figures (what the host list shows and the
// time series keeps), a mount's used per cent, a listener's protocol. Pure, so it
// is tested on its own; ingest stores these figures, the reads and rules show them.
import { Protocol, type HostReport, type NetworkInterface } from "../../../proto/gen/netmap/v1/report.ts";

export interface Headline {
  cpuPercent: number | null;
  memoryPercent: number | null;
  fullestMount: { mountpoint: string; usedPercent: number } | null;
  /** The machine's own addresses: non-virtual interfaces, no loopback or link-local. */
  addresses: string[];
  diskReadBytesPerSecond: number | null;
  diskWriteBytesPerSecond: number | null;
  networkRxBytesPerSecond: number | null;
  networkTxBytesPerSecond: number | null;
}

/** Used per cent as df shows it: used / (used + available to users). */
export function mountUsedPercent(mount: { usedBytes: number; availableBytes: number }): number | null {
  const usable = mount.usedBytes + mount.availableBytes;
  return usable > 0 ? (mount.usedBytes / usable) * 100 : null;
}

export function headline(report: HostReport): Headline {
  const memory = report.memory;
  let fullestMount: Headline["fullestMount"] = null;
  for (const mount of report.mounts) {
    const usedPercent = mountUsedPercent(mount);
    if (usedPercent !== null && (fullestMount === null || usedPercent > fullestMount.usedPercent)) {
      fullestMount = { mountpoint: mount.mountpoint, usedPercent };
    }
  }
  const nics = report.interfaces.filter((nic) => !nic.virtual);
  return {
    cpuPercent: report.cpu?.usagePercent ?? null,
    memoryPercent: memory && memory.totalBytes > 0 ? (memory.usedBytes / memory.totalBytes) * 100 : null,
    fullestMount,
    addresses: [...new Set(nics.flatMap(ownAddresses))],
    diskReadBytesPerSecond: sumOfPresent(report.disks.map((d) => d.readBytesPerSecond)),
    diskWriteBytesPerSecond: sumOfPresent(report.disks.map((d) => d.writeBytesPerSecond)),
    networkRxBytesPerSecond: sumOfPresent(nics.map((n) => n.rxBytesPerSecond)),
    networkTxBytesPerSecond: sumOfPresent(nics.map((n) => n.txBytesPerSecond)),
  };
}

function ownAddresses(nic: NetworkInterface): string[] {
  return nic.addresses
    .map((a) => a.address)
    .filter((address) => !/^(127\.|169\.254\.|::1$|fe80:)/i.test(address));
}

/** A sum over the values that are present; null when none are (a first cycle). */
function sumOfPresent(values: (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return present.length ? present.reduce((a, b) => a + b, 0) : null;
}

export function protocolName(protocol: Protocol): string {
  switch (protocol) {
    case Protocol.PROTOCOL_TCP:
      return "tcp";
    case Protocol.PROTOCOL_UDP:
      return "udp";
    default:
      return "unknown";
  }
}
