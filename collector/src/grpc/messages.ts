// Domain values ↔ the NetMapAdmin messages, both ways, in one place: the server sends what
// the HTTP API sends, and the CLI gets back the same shapes (null where proto says unset).
import type { HostSummary as HostSummaryMessage, Hop as HopMessage } from "../../../proto/gen/netmap/v1/admin.ts";
import type { HostSummary } from "../hosts/repository.ts";
import type { HostStatus } from "../hosts/status.ts";
import type { Hop } from "../topology/model.ts";

/** A failed call's NetMapError code travels beside its message, in this trailing metadata key. */
export const ERROR_CODE_METADATA = "netmap-error-code";

export function hopToMessage(hop: Hop): HopMessage {
  return { client: hop.client, site: hop.site, name: hop.name, address: hop.address, port: hop.port, user: hop.user ?? undefined };
}

export function hopFromMessage(hop: HopMessage): Hop {
  return { client: hop.client, site: hop.site, name: hop.name, address: hop.address, port: hop.port, user: hop.user ?? null };
}

export function hostToMessage(host: HostSummary): HostSummaryMessage {
  return {
    id: host.id,
    agentId: host.agentId ?? undefined,
    hostname: host.hostname,
    status: host.status,
    lastSeen: host.lastSeen === null ? undefined : new Date(host.lastSeen),
    ageSeconds: host.ageSeconds ?? undefined,
    os: host.os ?? undefined,
    cpuPercent: host.cpuPercent ?? undefined,
    memoryPercent: host.memoryPercent ?? undefined,
    load1: host.load1 ?? undefined,
    logicalCores: host.logicalCores ?? undefined,
    memoryTotalBytes: host.memoryTotalBytes ?? undefined,
    fullestMount: host.fullestMount ?? undefined,
    addresses: host.addresses,
  };
}

export function hostFromMessage(host: HostSummaryMessage): HostSummary {
  return {
    id: host.id,
    agentId: host.agentId ?? null,
    hostname: host.hostname,
    status: host.status as HostStatus,
    lastSeen: host.lastSeen?.toISOString() ?? null,
    ageSeconds: host.ageSeconds ?? null,
    os: host.os ?? null,
    cpuPercent: host.cpuPercent ?? null,
    memoryPercent: host.memoryPercent ?? null,
    load1: host.load1 ?? null,
    logicalCores: host.logicalCores ?? null,
    memoryTotalBytes: host.memoryTotalBytes ?? null,
    fullestMount: host.fullestMount ?? null,
    addresses: host.addresses,
  };
}
