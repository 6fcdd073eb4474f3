// Domain values ↔ the NetMapAdmin messages, both ways, in one place: the server sends what
// the HTTP API sends, and the CLI gets back the same shapes (null where proto says unset).
import type { Alert as AlertMessage, GuestTask as GuestTaskMessage, HostSummary as HostSummaryMessage, Hop as HopMessage, Silence as SilenceMessage } from "../../../proto/gen/netmap/v1/admin.ts";
import type { AlertState, Severity } from "../alerts/engine.ts";
import type { OpenAlert } from "../alerts/repository.ts";
import { silenceState, type Silence, type SilenceState } from "../alerts/silences.ts";
import type { AlertJson, GuestTask, HostSummary, SilenceJson } from "../http/api-types.ts";
import type { HostStatus } from "../hosts/status.ts";
import type { Hop } from "../topology/model.ts";

/** A failed call's NetMapError code travels beside its message, in this trailing metadata key. */
export const ERROR_CODE_METADATA = "netmap-error-code";

export function hopToMessage(hop: Hop): HopMessage {
  return { client: hop.client, site: hop.site, name: hop.name, address: hop.address, port: hop.port, user: hop.user ?? undefined, alias: hop.alias };
}

export function hopFromMessage(hop: HopMessage): Hop {
  return { client: hop.client, site: hop.site, name: hop.name, address: hop.address, port: hop.port, user: hop.user ?? null, alias: hop.alias };
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
    address: host.address ?? undefined,
    claims: host.claims,
    agentVersion: host.agentVersion ?? undefined,
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
    address: host.address ?? null,
    claims: host.claims,
    agentVersion: host.agentVersion ?? null,
  };
}

/** An open alert as a message; back on the CLI side, the JSON GET /api/v1/alerts sends. */
export function alertToMessage(a: OpenAlert): AlertMessage {
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    value: a.value,
    activeSince: a.activeSince,
    startsAt: a.startsAt ?? undefined,
    hostId: a.hostId ?? undefined,
    acknowledged: a.ack ? { by: a.ack.by, at: a.ack.at, comment: a.ack.comment } : undefined,
  };
}

export function alertFromMessage(a: AlertMessage): AlertJson {
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    severity: a.severity as Severity,
    state: a.state as AlertState,
    labels: a.labels,
    annotations: a.annotations,
    value: a.value,
    activeSince: a.activeSince?.toISOString() ?? "",
    startsAt: a.startsAt?.toISOString() ?? null,
    hostId: a.hostId ?? null,
    acknowledged: a.acknowledged ? { by: a.acknowledged.by, at: a.acknowledged.at?.toISOString() ?? "", comment: a.acknowledged.comment } : null,
  };
}

export function silenceToMessage(s: Silence & { state?: SilenceState }, now = new Date()): SilenceMessage {
  return {
    id: s.id,
    matchers: s.matchers.map((m) => ({ ...m })),
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: s.createdAt,
    state: s.state ?? silenceState(s, now),
  };
}

export function silenceFromMessage(s: SilenceMessage): SilenceJson {
  return {
    id: s.id,
    matchers: s.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex })),
    startsAt: s.startsAt?.toISOString() ?? "",
    endsAt: s.endsAt?.toISOString() ?? "",
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: s.createdAt?.toISOString() ?? "",
    status: { state: s.state as SilenceState },
  };
}

export function guestTaskToMessage(t: GuestTask): GuestTaskMessage {
  return {
    id: t.id, cluster: t.cluster, node: t.node, type: t.type, vmid: t.vmid, action: t.action, snapshot: t.snapshot ?? "", upid: t.upid,
    requestedBy: t.requestedBy, status: t.status, exitStatus: t.exitStatus ?? "", startedAt: new Date(t.startedAt), endedAt: t.endedAt === null ? undefined : new Date(t.endedAt),
  };
}
