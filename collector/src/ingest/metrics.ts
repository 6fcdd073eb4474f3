import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ReadConsumerLag } from "./lag.ts";
import type { Rejection, StoreResult } from "./store.ts";

export interface IngestMetrics {
  observeBatch(result: StoreResult, rejections: Rejection[], seconds: number): void;
  storeFailures: Counter;
  /** Messages this collector received that JetStream had delivered before (to it or another). */
  redeliveries: Counter;
}

export function ingestMetrics(registry: Registry): IngestMetrics {
  const reports = new Counter({
    name: "netmap_ingest_reports_total",
    help: "Reports taken from JetStream, by outcome (stored, duplicate, rejected).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: "netmap_ingest_batch_duration_seconds",
    help: "Time to store one batch of reports in PostgreSQL.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const storeFailures = new Counter({
    name: "netmap_ingest_store_failures_total",
    help: "Failed attempts to store a batch (the batch is held and retried).",
    registers: [registry],
  });
  const redeliveries = new Counter({
    name: "netmap_ingest_redeliveries_total",
    help: "Reports JetStream delivered to this collector again: unacked before (a collector died or stalled past ack_wait, or handed them back).",
    registers: [registry],
  });
  for (const outcome of ["stored", "duplicate", "rejected"]) reports.inc({ outcome }, 0);
  return {
    observeBatch(result, rejections, seconds) {
      reports.inc({ outcome: "stored" }, result.stored);
      reports.inc({ outcome: "duplicate" }, result.duplicates);
      reports.inc({ outcome: "rejected" }, rejections.length);
      batchSeconds.observe(seconds);
    },
    storeFailures,
    redeliveries,
  };
}

/**
 * The durable consumer's backlog, read from JetStream at each scrape (ingest/lag.ts). Every
 * collector exports the same figures: take max(), not sum(), across them. When NATS does not
 * answer, they are NaN in that scrape rather than a stale or a made-up 0.
 */
export function consumerLagMetrics(registry: Registry, readLag: ReadConsumerLag, log: Logger): void {
  const figures = [
    ["netmap_ingest_consumer_pending_messages", "Reports in the stream not yet delivered to any collector (the consumer's num_pending).", "pending"],
    ["netmap_ingest_consumer_ack_pending_messages", "Reports delivered to a collector and not yet stored and acked (num_ack_pending).", "ackPending"],
    ["netmap_ingest_consumer_redelivered_messages", "Of the unacked reports, those delivered more than once (num_redelivered).", "redelivered"],
  ] as const;
  for (const [name, help, field] of figures) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set((await readLag())[field]);
        } catch (error) {
          this.set(Number.NaN);
          if (field === "pending") log.warn({ err: error }, "cannot read the consumer's backlog from JetStream for /metrics");
        }
      },
    });
  }
}
