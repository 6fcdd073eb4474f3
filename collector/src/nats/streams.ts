// The two JetStream streams the collector owns, with their limits. Created at
// start when missing; one an older version made without these limits is
// brought up to them in place (its messages stay, up to the new limits).
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { MAX_REPORT_BYTES } from "../../../proto/src/codec.ts";
import { EVENT_SUBJECTS, EVENTS_STREAM, REPORT_SUBJECTS, REPORTS_STREAM } from "../../../proto/src/subjects.ts";

export interface StreamLimits {
  readonly reports: { readonly maxBytes: number; readonly maxMsgsPerAgent: number };
  readonly events: { readonly maxBytes: number };
}

const GiB = 1024 ** 3;
const DAY_NS = 24 * 3600 * 1e9;

export const DEFAULT_STREAM_LIMITS: StreamLimits = Object.freeze({
  // A backlog for while the collector or its database is away, on one machine's disk: at a few
  // KiB a report, about a day of 100 hosts. Beyond it the oldest reports go first.
  // 70,000 a subject: a week at the 10 s interval (60,480) with room for jitter and spool replays.
  reports: Object.freeze({ maxBytes: 4 * GiB, maxMsgsPerAgent: 70_000 }),
  events: Object.freeze({ maxBytes: 1 * GiB }),
});

// JetStream counts the headers in a message's size: room for Nats-Msg-Id beside the largest report.
const REPORT_HEADER_ROOM = 1024;
// Events are the collector's own; NATS's default max_payload.
const EVENT_MAX_MSG_SIZE = 1024 * 1024;

type Definition = Partial<StreamConfig> & Pick<StreamConfig, "name" | "subjects">;

/** NETMAP_REPORTS: every agent's subject, no agent able to fill it alone or with one huge message. */
export function reportStreamConfig(limits: StreamLimits["reports"]): Definition {
  return {
    name: REPORTS_STREAM,
    subjects: [REPORT_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 7 * DAY_NS,
    max_bytes: limits.maxBytes,
    // One subject per agent: an agent publishing too much evicts its own oldest reports, nobody else's.
    max_msgs_per_subject: limits.maxMsgsPerAgent,
    max_msg_size: MAX_REPORT_BYTES + REPORT_HEADER_ROOM,
    duplicate_window: 2 * 60 * 1e9,
  };
}

/** NETMAP_EVENTS: alert and inventory events, for integrations that read them later. */
export function eventStreamConfig(limits: StreamLimits["events"]): Definition {
  return {
    name: EVENTS_STREAM,
    subjects: EVENT_SUBJECTS,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 30 * DAY_NS,
    max_bytes: limits.maxBytes,
    max_msg_size: EVENT_MAX_MSG_SIZE,
  };
}

const LIMITS = ["max_age", "max_bytes", "max_msgs_per_subject", "max_msg_size", "discard", "num_replicas"] as const;

/**
 * Copies a stream keeps: 3 on a cluster of three nodes or more (one node may be lost, or
 * restarted for an upgrade, without losing a report or stopping ingest), 1 on a single server,
 * which refuses more. A cluster's size is what its nodes advertise to clients (INFO
 * connect_urls, every node's client address, this one's included); a cluster that hides them
 * (no_advertise) gets 1.
 */
export function streamReplicas(nc: NatsConnection): number {
  const info = nc.info;
  if (!info?.cluster) return 1;
  return (info.connect_urls?.length ?? 1) >= 3 ? 3 : 1;
}

/** Creates the stream, or updates the limits (and replicas) of the one there when they differ. */
export async function ensureStream(nc: NatsConnection, stream: Definition): Promise<void> {
  const definition: Definition = { num_replicas: streamReplicas(nc), ...stream };
  const jsm = await jetstreamManager(nc);
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(definition.name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(definition);
    return;
  }
  const changed = Object.fromEntries(LIMITS.filter((key) => definition[key] !== undefined && current[key] !== definition[key]).map((key) => [key, definition[key]]));
  if (Object.keys(changed).length) await jsm.streams.update(definition.name, changed);
}
