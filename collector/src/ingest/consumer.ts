// Pulls reports from JetStream and stores them in batches ("group commit"):
// while batches are being written (two at once, PIPELINE), the next accumulates,
// so a quiet system stores each report at once and a busy one writes hundreds
// per transaction. A message is acked only after its transaction commits.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { CodecError, decodeReceivedReport } from "../../../proto/src/codec.ts";
import { agentIdFromReportSubject, REPORT_SUBJECTS, REPORTS_STREAM } from "../../../proto/src/subjects.ts";
import type { Db } from "../db/database.ts";
import { NetMapError } from "../errors.ts";
import { DEFAULT_STREAM_LIMITS, ensureStream, reportStreamConfig, type StreamLimits } from "../nats/streams.ts";
import type { IngestMetrics } from "./metrics.ts";
import { storeIsolating, type IncomingReport, type StoreBatch } from "./isolate.ts";
import { storeBatch, type Rejection, type StoreResult } from "./store.ts";
import { checkReportTime } from "./window.ts";
import { DEFAULT_RETENTION } from "../series/retention.ts";

export interface IngestOptions {
  /** Called after each batch commits, with the reports that became their host's latest. */
  onStored?: (latest: StoreResult["latest"]) => void;
  nc: NatsConnection;
  db: Db;
  log: Logger;
  metrics: IngestMetrics;
  consumer: string;
  batchSize: number;
  streamLimits?: StreamLimits["reports"];
  /** Reports dated further back than this (seconds) are refused: their partitions are gone (ingest/window.ts). */
  rawRetentionSeconds?: number;
  /** Where batches are written; storeBatch unless a test puts a failure in its way. */
  store?: StoreBatch;
}

export interface Ingest {
  /** Stops pulling, finishes the batch being written, hands the rest back to JetStream. */
  stop(): Promise<void>;
}

/**
 * Batches written at once, each in its own transaction: the next batch is decoded and sent
 * while PostgreSQL commits the one before, and the database works on two cores. Order
 * between them does not matter: a host's latest state only moves forward (advanceLatest),
 * and each batch is acked after its own commit.
 */
const PIPELINE = 2;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export async function ensureReportStream(nc: NatsConnection, consumer: string, limits = DEFAULT_STREAM_LIMITS.reports): Promise<void> {
  await ensureStream(nc, reportStreamConfig(limits));
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(REPORTS_STREAM, {
    durable_name: consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: REPORT_SUBJECTS,
    ack_wait: 60 * 1e9,
    max_ack_pending: 20_000,
    max_deliver: -1,
  });
}

export async function startIngest(options: IngestOptions): Promise<Ingest> {
  const { nc, db, log, metrics, batchSize } = options;
  const store = options.store ?? storeBatch;
  await ensureReportStream(nc, options.consumer, options.streamLimits);
  const consumer = await jetstream(nc).consumers.get(REPORTS_STREAM, options.consumer);

  const pending: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let running = true;
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: batchSize * (PIPELINE + 1),
    callback: (msg) => {
      if (msg.info.redelivered) metrics.redeliveries.inc();
      pending.push(msg);
      wake?.();
    },
  });

  const writing = new Set<Promise<void>>();
  const loop = (async () => {
    while (running) {
      if (!pending.length || writing.size >= PIPELINE) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), ...writing]);
        wake = undefined;
        continue;
      }
      const write = writeUntilStored(pending.splice(0, batchSize)).finally(() => writing.delete(write));
      writing.add(write);
    }
    await Promise.all(writing);
  })();

  async function writeUntilStored(batch: JsMsg[]): Promise<void> {
    const { reports, rejections } = decodeBatch(batch);
    let delay = RETRY_MIN_MS;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const { result, unstorable } = await storeIsolating(store, db, reports, rejections);
        for (const rejection of unstorable) warnRejected(rejection, "REPORT_UNSTORABLE");
        for (const msg of batch) msg.ack();
        metrics.observeBatch(result, [...rejections, ...unstorable], (performance.now() - started) / 1000);
        if (result.latest.length) options.onStored?.(result.latest);
        if (attempt > 1) log.info({ attempt }, "database is back; stored the held reports");
        return;
      } catch (error) {
        if (attempt === 1) {
          log.error({ err: error, held: batch.length }, "cannot store reports; holding them unacked and retrying");
        }
        metrics.storeFailures.inc();
        // Tell JetStream we are still on it, so it does not redeliver them elsewhere meanwhile.
        for (const msg of batch) msg.working();
        await sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        if (!running) return; // unacked: JetStream redelivers them after ack_wait
      }
    }
  }

  function decodeBatch(batch: JsMsg[]): { reports: IncomingReport[]; rejections: Rejection[] } {
    const reports: IncomingReport[] = [];
    const rejections: Rejection[] = [];
    const receivedAt = new Date();
    for (const msg of batch) {
      const subject = msg.subject.slice(0, 200);
      try {
        const agentId = agentIdFromReportSubject(msg.subject);
        const { report, bytes } = decodeReceivedReport(msg.data);
        if (report.agentId !== agentId) {
          throw new CodecError(`agent_id ${JSON.stringify(report.agentId)} in the report disagrees with the subject's ${JSON.stringify(agentId)}`);
        }
        checkReportTime(report.collectedAt!, receivedAt, options.rawRetentionSeconds ?? DEFAULT_RETENTION.raw);
        reports.push({ report, bytes, receivedAt, subject, sizeBytes: msg.data.length });
      } catch (error) {
        const rejection = { subject, reason: (error as Error).message, sizeBytes: msg.data.length };
        warnRejected(rejection, error instanceof NetMapError ? error.code : "REPORT_INVALID");
        rejections.push(rejection);
      }
    }
    return { reports, rejections };
  }

  function warnRejected(rejection: Rejection, code: string): void {
    log.warn({ subject: rejection.subject, bytes: rejection.sizeBytes, reason: rejection.reason, code }, "rejected a report");
  }

  return {
    stop: async () => {
      running = false;
      await messages.close();
      wake?.();
      await loop;
      // Pulled but never written: hand back now rather than after ack_wait.
      for (const msg of pending.splice(0)) msg.nak();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
