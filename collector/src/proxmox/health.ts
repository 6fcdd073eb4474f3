// A cycle's storage and cluster health: per answering node its ZFS pools (and their data
// errors) and the replication jobs it runs; for the cluster its HA state and, when installed,
// Ceph's health. What could not be read is null (its alerts keep their state) and a failure.
import type { ProxmoxClient } from "./client.ts";
import type { DiscoveredNode, Failure } from "./discovery.ts";
import { cephAbsent, parseCephStatus, parseHaStatus, parseReplication, parseZfsErrors, parseZfsPools, type CephHealth, type HaState, type ReplicationJob, type ZfsPool } from "./parse-health.ts";

export interface ClusterHealth {
  /** Per node name; a node missing or null: not read this cycle. */
  zfs: Map<string, ZfsPool[] | null>;
  replication: Map<string, ReplicationJob[] | null>;
  ha: HaState | null;
  /** "absent": the cluster has no Ceph. */
  ceph: CephHealth | "absent" | null;
}

export async function discoverHealth(client: ProxmoxClient, nodes: readonly DiscoveredNode[], failures: Failure[], failure: (what: string, error: unknown) => Failure): Promise<ClusterHealth> {
  const health: ClusterHealth = { zfs: new Map(), replication: new Map(), ha: null, ceph: null };
  const read = async <T>(what: string, call: () => Promise<T>): Promise<T | null> => {
    try {
      return await call();
    } catch (error) {
      failures.push(failure(what, error));
      return null;
    }
  };
  const answering = nodes.filter((n) => n.staleReason === null);
  await Promise.all([
    ...answering.map(async (n) => {
      const base = `nodes/${encodeURIComponent(n.node)}`;
      health.zfs.set(n.node, await read(`ZFS of node ${n.node}`, async () => {
        const pools = parseZfsPools(await client.get(`${base}/disks/zfs`));
        for (const pool of pools) pool.errors = parseZfsErrors(await client.get(`${base}/disks/zfs/${encodeURIComponent(pool.name)}`));
        return pools;
      }));
    }),
    ...answering.map(async (n) => {
      health.replication.set(n.node, await read(`replication of node ${n.node}`, async () => parseReplication(await client.get(`nodes/${encodeURIComponent(n.node)}/replication`))));
    }),
    (async () => {
      health.ha = await read("HA status", async () => parseHaStatus(await client.get("cluster/ha/status/current")));
    })(),
    (async () => {
      try {
        health.ceph = parseCephStatus(await client.get("cluster/ceph/status"));
      } catch (error) {
        if (cephAbsent((error as Error).message)) health.ceph = "absent";
        else failures.push(failure("Ceph status", error));
      }
    })(),
  ]);
  return health;
}
