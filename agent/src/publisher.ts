// Publishes reports to JetStream, in order, with Nats-Msg-Id set so a resend
// (after a lost ack, or from the spool) is stored once.
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { encodeReport } from "../../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import type { HostReport } from "../../proto/gen/netmap/v1/report.ts";

/** Reports kept while NATS or the stream is away; the oldest go first beyond it. */
export const MAX_QUEUED_REPORTS = 1000;
const PUBLISH_TIMEOUT_MS = 5000;

export interface QueuedReport {
  subject: string;
  msgID: string;
  seq: number;
  bytes: Uint8Array;
}

export interface ReportPublisher {
  /** Queues the report, then sends everything queued, oldest first, until one fails. */
  publish(report: HostReport): Promise<void>;
  /** Reports not yet acknowledged by the stream. */
  queued(): number;
  /** Drains the connection: buffered messages are flushed, then it closes. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  servers: readonly string[];
  agentId: string;
  /** Contents of a NATS .creds file. */
  creds?: string;
  log: Logger;
  maxQueued?: number;
}

/**
 * Connects in the background: an agent started before NATS (or cut off from
 * it) keeps collecting, queues, and sends once the connection is up. The
 * client reconnects forever.
 */
export function createPublisher(options: PublisherOptions): ReportPublisher {
  const { log, agentId } = options;
  const maxQueued = options.maxQueued ?? MAX_QUEUED_REPORTS;
  const queue: QueuedReport[] = [];
  let connection: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let failing = false;
  let dropped = 0;

  const connecting = connect({
    servers: [...options.servers],
    name: `netmap-agent ${agentId}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    ...(options.creds !== undefined && { authenticator: credsAuthenticator(new TextEncoder().encode(options.creds)) }),
  }).then(
    (nc) => {
      connection = nc;
      js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
      log.info({ server: nc.getServer() }, "connected to NATS");
      void watchStatus(nc, log);
      return nc;
    },
    (error: unknown) => {
      log.error({ err: error }, "cannot connect to NATS");
      return undefined;
    },
  );

  const enqueue = (report: HostReport) => {
    queue.push({ subject: reportSubject(agentId), msgID: reportMessageId(agentId, report.bootId, report.seq), seq: report.seq, bytes: encodeReport(report) });
    while (queue.length > maxQueued) {
      queue.shift();
      dropped++;
    }
    if (dropped > 0) {
      log.warn({ dropped, queued: queue.length }, "report queue full; oldest reports dropped");
      dropped = 0;
    }
  };

  const flush = async () => {
    if (!js) return;
    while (queue.length > 0) {
      const next = queue[0]!;
      try {
        const ack = await js.publish(next.subject, next.bytes, { msgID: next.msgID, timeout: PUBLISH_TIMEOUT_MS });
        queue.shift();
        if (failing) log.info({ queued: queue.length }, "publishing again");
        failing = false;
        log.debug({ seq: next.seq, streamSeq: ack.seq, duplicate: ack.duplicate }, "report published");
      } catch (error) {
        // Once per outage: the next cycle retries, and a log line every 10 s says nothing new.
        if (!failing) {
          log.warn({ err: error, queued: queue.length, hint: "is the NETMAP_REPORTS stream there? the collector creates it" }, "cannot publish reports; keeping them queued");
        } else {
          log.debug({ err: error, queued: queue.length }, "publish still failing");
        }
        failing = true;
        return;
      }
    }
  };

  return {
    async publish(report) {
      enqueue(report);
      await flush();
    },
    queued: () => queue.length,
    async close() {
      const nc = connection ?? (await Promise.race([connecting, Promise.resolve(undefined)]));
      if (!nc) {
        // Still waiting for a first connection: nothing to drain.
        void connecting.then((late) => late?.close());
        return;
      }
      if (queue.length > 0) log.warn({ queued: queue.length }, "stopping with unpublished reports");
      await nc.drain();
    },
  };
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === "disconnect") log.warn({ server: status.server }, "disconnected from NATS");
    else if (status.type === "reconnect") log.info({ server: status.server }, "reconnected to NATS");
    else if (status.type === "error") log.warn({ err: status.error }, "NATS error");
    else log.debug({ status }, "NATS status");
  }
}
