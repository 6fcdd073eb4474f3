import { Counter, Histogram, type Registry } from "prom-client";
import type { Rejection, StoreResult } from "./store.ts";

export interface IngestMetrics {
  observeBatch(result: StoreResult, rejections: Rejection[], seconds: number): void;
  storeFailures: Counter;
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
  for (const outcome of ["stored", "duplicate", "rejected"]) reports.inc({ outcome }, 0);
  return {
    observeBatch(result, rejections, seconds) {
      reports.inc({ outcome: "stored" }, result.stored);
      reports.inc({ outcome: "duplicate" }, result.duplicates);
      reports.inc({ outcome: "rejected" }, rejections.length);
      batchSeconds.observe(seconds);
    },
    storeFailures,
  };
}
