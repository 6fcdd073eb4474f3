// The hook ingest calls after each committed batch (IngestOptions.onStored): each host's
// newest report's container listing goes to the map (store.ts) — only when it differs from
// the last one written: a digest per host kept here skips an unchanged listing without a
// query (for a minute: then one SELECT finds out whether the host was placed elsewhere),
// and container_engines' digest skips it in the database. Hosts are synced one after another, off the ingest path; the changes go
// to NATS as InventoryEvents once committed.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HostReport } from "../../../proto/gen/netmap/v1/report.ts";
import type { Db } from "../db/database.ts";
import { publishInventoryEvents } from "../proxmox/poller.ts";
import { listingDigest, listingOf, storeListing } from "./store.ts";

const RECHECK_MS = 60_000;

export interface ContainerSync {
  /** Queues the hosts' listings; returns at once. */
  onStored(latest: Array<{ hostId: number; report: HostReport }>): void;
  /** Resolves when everything queued so far is written. */
  idle(): Promise<void>;
}

export function containerSync(options: { db: Db; nc?: Pick<NatsConnection, "publish">; log: Logger }): ContainerSync {
  const written = new Map<number, { digest: string; at: number }>();
  let queue: Promise<void> = Promise.resolve();
  return {
    onStored(latest) {
      for (const { hostId, report } of latest) {
        const listing = listingOf(report);
        const digest = listingDigest(listing);
        const last = written.get(hostId);
        if (last?.digest === digest && Date.now() - last.at < RECHECK_MS) continue;
        queue = queue.then(async () => {
          try {
            const events = await storeListing(options.db, hostId, report.collectedAt!, listing);
            written.set(hostId, { digest, at: Date.now() });
            if (events?.length && options.nc) publishInventoryEvents(options.nc, events);
          } catch (error) {
            // The next report that differs tries again; a host's containers are never half-written.
            options.log.warn({ err: error, hostId }, "could not store a host's containers");
          }
        });
      }
    },
    idle: () => queue,
  };
}
