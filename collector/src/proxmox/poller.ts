// Discovery of every configured cluster, each on its own interval, started by
// `netmap serve`. A cycle never overlaps the previous one of its cluster; its
// changes go to NATS as InventoryEvents once the transaction committed.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { encodeInventoryEvent } from "../../../proto/src/codec.ts";
import { inventorySubject } from "../../../proto/src/subjects.ts";
import type { InventoryEvent } from "../../../proto/gen/netmap/v1/inventory.ts";
import type { ProxmoxCycle } from "./cycle.ts";
import { startPeriodic } from "../cluster/periodic.ts";
import type { Db } from "../db/database.ts";
import { clusterClient } from "./client.ts";
import type { ProxmoxClusterConfig } from "./config.ts";
import { discover, type DiscoveryMemory, type Inventory } from "./discovery.ts";
import { storedResources } from "./repository.ts";
import type { BackupArchive } from "./parse.ts";
import { storeInventory } from "./store.ts";

export interface ProxmoxPoller {
  /** Runs one cycle of every cluster now (tests, and the first cycle at start). */
  runOnce(): Promise<Array<{ inventory: Inventory; events: InventoryEvent[] }>>;
  stop(): Promise<void>;
}

export function publishInventoryEvents(nc: Pick<NatsConnection, "publish">, events: InventoryEvent[]): void {
  for (const event of events) nc.publish(inventorySubject(event.change), encodeInventoryEvent(event));
}

export function startProxmoxPoller(options: {
  clusters: readonly ProxmoxClusterConfig[];
  db: Db;
  nc: NatsConnection;
  log: Logger;
  /** false: no timers, cycles only through runOnce(). */
  schedule?: boolean;
  /** Called with each cycle once stored (the Proxmox alert rules); awaited, its failure logged. */
  onStored?: (cycle: ProxmoxCycle) => Promise<unknown> | void;
  /**
   * Whether this collector is the one that polls now (it holds the proxmox-poll lease): with
   * several collectors one polls, the others look again every few seconds to take over.
   */
  isPoller?: () => boolean;
}): ProxmoxPoller {
  const { db, nc, log } = options;
  const pollers = options.clusters.map((cluster) => {
    const client = clusterClient(cluster);
    const clusterLog = log.child({ cluster: cluster.name });
    const memory: DiscoveryMemory = {};
    let lastProblem = "";

    const cycle = async () => {
      const inventory = await discover(client, cluster.name, memory);
      const events = await storeInventory(db, cluster, inventory);
      publishInventoryEvents(nc, events);
      if (options.onStored) {
        try {
          await options.onStored(await storedCycle(db, cluster, inventory));
        } catch (error) {
          clusterLog.error({ err: error }, "cannot judge the Proxmox alert rules");
        }
      }
      const summary = {
        nodes: inventory.nodes.length, guests: inventory.guests.length, templates: inventory.templates.length,
        complete: inventory.complete, calls: inventory.calls, durationMs: inventory.durationMs, events: events.length,
      };
      // A failure is logged when it starts or changes, not every cycle.
      const problem = inventory.failures.map((f) => `${f.what}: ${f.message}`).join("; ");
      if (problem && problem !== lastProblem) clusterLog.warn({ ...summary, failures: inventory.failures }, "discovery cycle incomplete");
      else if (!problem && lastProblem) clusterLog.info(summary, "discovery recovered");
      else clusterLog.debug(summary, "discovery cycle");
      lastProblem = problem;
      return { inventory, events };
    };
    const periodic = startPeriodic({
      run: cycle, intervalSeconds: cluster.intervalSeconds, log: clusterLog, failure: "discovery cycle failed", schedule: options.schedule, isHolder: options.isPoller,
    });
    return {
      runOnce: periodic.runOnce,
      stop: async () => {
        await periodic.stop();
        client.close();
      },
    };
  });
  return {
    runOnce: () => Promise.all(pollers.map((p) => p.runOnce())),
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    },
  };
}

/** The cycle as stored, for the alert rules: each listed node and guest with the host it is. */
async function storedCycle(db: Db, cluster: ProxmoxClusterConfig, inventory: Inventory): Promise<ProxmoxCycle> {
  const base = { cluster: cluster.name, client: cluster.client, site: cluster.site, listed: inventory.listed };
  if (!inventory.listed) return { ...base, resources: [] };
  // previous: the status of the cycle stored before this one, so a collector restarted
  // between a guest's last running cycle and its first stopped one still sees it stop.
  const rows = await storedResources(db, cluster.name, inventory.at);
  const hostOf = new Map(rows.filter((r) => !r.gone).map((r) => [r.type === "node" ? `node/${r.node}` : `guest/${r.vmid}`, r]));
  const resources: ProxmoxCycle["resources"][number][] = [];
  // Gone in this cycle (deleted, after a complete listing without it): not down, its alerts resolve.
  for (const r of rows.filter((row) => row.gone)) {
    resources.push({ hostId: Number(r.host_id), host: r.host, type: r.type, node: r.node, vmid: r.vmid, status: "gone", stale: false, gone: true });
  }
  for (const n of inventory.nodes) {
    const row = hostOf.get(`node/${n.node}`);
    if (row) {
      resources.push({
        hostId: Number(row.host_id), host: row.host, type: "node", node: n.node, vmid: 0, status: n.status, stale: n.staleReason !== null, storage: n.storage, labels: row.labels,
        ...(n.backupTask !== undefined && { backupTask: n.backupTask }),
      });
    }
  }
  // A guest's status comes from the listing: it is stale when its node did not answer (a failed
  // config or agent call leaves the status known).
  const answered = new Set(inventory.nodes.filter((n) => n.staleReason === null).map((n) => n.node));
  for (const g of inventory.guests) {
    const row = hostOf.get(`guest/${g.vmid}`);
    if (row) {
      resources.push({
        hostId: Number(row.host_id), host: row.host, type: g.type, node: g.node, vmid: g.vmid, status: g.status,
        stale: !answered.has(g.node), ...(g.lock ? { lock: g.lock } : {}), ...(row.previous ? { previousStatus: row.previous } : {}), labels: row.labels,
        ...(inventory.backups?.complete && { backup: backupOf(inventory.backups.latest.get(g.vmid)) }),
        ...(g.oldestSnapshot !== undefined && { oldestSnapshot: g.oldestSnapshot }),
      });
    }
  }
  return { ...base, resources, health: inventory.health };
}

const backupOf = (a: BackupArchive | undefined) => ({ at: a?.at ?? null, volid: a?.volid ?? null, sizeBytes: a?.sizeBytes ?? null });
