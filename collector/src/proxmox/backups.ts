// A cycle's backup coverage: every backup storage (vzdump directories, NFS, PBS datastores
// through PVE) listed once — a shared one from the first node that lists it, a local one on
// its own node — and per guest its newest archive; per node its latest backup job (vzdump
// task). "Complete" only when every node answered and every listing did: a guest is said
// never backed up only then.
import type { ProxmoxClient } from "./client.ts";
import type { DiscoveredNode, Failure } from "./discovery.ts";
import { parseBackupContent, parseBackupLogFailures, parseLatestBackupTask, type BackupArchive, type BackupStorage } from "./parse.ts";

export interface BackupCoverage {
  /** Every node answered and every backup storage was listed: a guest missing from `latest` has no backup. */
  complete: boolean;
  /** Per VMID, its newest archive. */
  latest: Map<number, BackupArchive>;
}

/** Lists the archives; sets each answering node's `backupTask`. `storages`: per node that answered, its backup storages. */
export async function discoverBackups(
  client: ProxmoxClient,
  nodes: DiscoveredNode[],
  storages: ReadonlyMap<string, BackupStorage[]>,
  failures: Failure[],
  failure: (what: string, error: unknown) => Failure,
): Promise<BackupCoverage> {
  const coverage: BackupCoverage = { complete: nodes.every((n) => n.staleReason === null && storages.has(n.node)), latest: new Map() };
  const listings: Array<{ node: string; storage: string }> = [];
  const sharedListed = new Set<string>();
  for (const n of nodes) {
    for (const s of storages.get(n.node) ?? []) {
      if (s.shared && sharedListed.has(s.storage)) continue;
      sharedListed.add(s.storage);
      listings.push({ node: n.node, storage: s.storage });
    }
  }
  const node = (name: string) => encodeURIComponent(name);
  await Promise.all([
    ...listings.map(async ({ node: name, storage }) => {
      try {
        const archives = parseBackupContent(await client.get(`nodes/${node(name)}/storage/${encodeURIComponent(storage)}/content?content=backup`), storage);
        for (const a of archives) {
          const known = coverage.latest.get(a.vmid);
          if (!known || a.at > known.at) coverage.latest.set(a.vmid, a);
        }
      } catch (error) {
        failures.push(failure(`backups on ${storage} (node ${name})`, error));
        coverage.complete = false;
      }
    }),
    ...nodes
      .filter((n) => n.staleReason === null)
      .map(async (n) => {
        try {
          const task = parseLatestBackupTask(await client.get(`nodes/${node(n.node)}/tasks?typefilter=vzdump&limit=1`));
          // A failed job's log names the guests it could not back up.
          if (task?.failed) task.failedGuests = parseBackupLogFailures(await client.get(`nodes/${node(n.node)}/tasks/${encodeURIComponent(task.upid)}/log?limit=5000`));
          n.backupTask = task;
        } catch (error) {
          failures.push(failure(`backup jobs of node ${n.node}`, error));
        }
      }),
  ]);
  return coverage;
}
