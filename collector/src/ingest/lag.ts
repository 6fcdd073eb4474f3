// How far behind the durable consumer is, read from JetStream (the consumer's own count, so
// it is the same whichever collector asks): the figure /readyz bounds and /metrics exports.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { REPORTS_STREAM } from "../../../proto/src/subjects.ts";

export interface ConsumerLag {
  /** In the stream, not yet handed to any collector. */
  pending: number;
  /** Handed to a collector, not yet acked (stored). */
  ackPending: number;
  /** Of those unacked, how many were delivered more than once. */
  redelivered: number;
}

/** Reports not yet stored: pending plus handed out and unacked. */
export const unstored = (lag: ConsumerLag): number => lag.pending + lag.ackPending;

/** A JetStream API call must not hold a probe or a scrape for long: NATS away is answered at once by "disconnected". */
const INFO_TIMEOUT_MS = 2000;
/** A scrape and a probe arriving together ask JetStream once. */
const FRESH_MS = 1000;

export type ReadConsumerLag = () => Promise<ConsumerLag>;

export function consumerLagReader(nc: NatsConnection, consumer: string): ReadConsumerLag {
  let jsm: Promise<JetStreamManager> | undefined;
  let last: { at: number; lag: Promise<ConsumerLag> } | undefined;
  const read = async (): Promise<ConsumerLag> => {
    jsm ??= jetstreamManager(nc, { timeout: INFO_TIMEOUT_MS }).catch((error: unknown) => {
      jsm = undefined;
      throw error;
    });
    const info = await (await jsm).consumers.info(REPORTS_STREAM, consumer);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
  };
  return () => {
    const now = performance.now();
    if (!last || now - last.at > FRESH_MS) {
      last = { at: now, lag: read() };
      // A failure is not kept: the next caller asks again.
      const failed = last;
      failed.lag.catch(() => { if (last === failed) last = undefined; });
    }
    return last.lag;
  };
}
