// Storage and cluster health end to end: the stand-in's ZFS pools, replication jobs, HA state
// and Ceph status read each cycle, the evaluator firing and resolving ZfsPoolDegraded,
// ZfsPoolErrors, ReplicationFailed, HaServiceError, ClusterQuorumLost and CephHealth*, and a
// shared storage filling up alerting once for the cluster, not once per node.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import type { Db } from "../../collector/src/db/database.ts";
import type { FakeGuest, FakeNode, FakeProxmox } from "../fakes/proxmox/server.ts";
import { startProxmoxRig, type ProxmoxRig } from "../helpers/proxmox-rig.ts";

const GiB = 1024 ** 3;
const rules = rulesConfigSchema.parse({
  BackupMissing: { enabled: false }, ProxmoxStorageFilling: { for: "0s" }, HaServiceError: { for: "0s" }, ClusterQuorumLost: { for: "0s" },
  CephHealthWarning: { for: "0s" }, CephHealthError: { for: "0s" },
});
const nfs = (usedGiB: number) => ({ storage: "nfs-vm", type: "nfs", total: 1000 * GiB, used: usedGiB * GiB, shared: 1 as const, content: "images" });
const nodes = (): FakeNode[] => [
  {
    node: "pve1", storage: [nfs(960)],
    zfs: [{ name: "rpool", health: "ONLINE" }, { name: "tank", health: "DEGRADED", errors: "1 data errors, use '-v' for a list" }],
    replication: [
      { id: "100-0", guest: 100, target: "pve2", last_sync: Math.floor(Date.now() / 1000) - 7200, fail_count: 2, error: "command 'zfs snapshot tank/vm-100-disk-0@__replicate_100-0_1733000000__' failed: exit code 1" },
      { id: "101-0", guest: 101, target: "pve2", last_sync: Math.floor(Date.now() / 1000) - 300 },
    ],
  },
  { node: "pve2", storage: [nfs(960)] },
];
const vm = (vmid: number, name: string): FakeGuest => ({ type: "qemu", vmid, name, node: "pve1", status: "running", config: { name, net0: `virtio=BC:24:11:00:00:${vmid.toString(16).padStart(2, "0")},bridge=vmbr0` } });

describe("storage and cluster health, through the poller and the evaluator", () => {
  let rig: ProxmoxRig;
  let pve: FakeProxmox;
  let db: Db;

  before(async () => {
    rig = await startProxmoxRig({ nodes: nodes(), guests: [vm(100, "web01"), vm(101, "db01")], rules });
    ({ pve, db } = rig);
    pve.state.ha = [
      { id: "quorum", type: "quorum", node: "pve1", status: "OK", quorate: 1 },
      { id: "master", type: "master", node: "pve1", status: "pve1 (active, Tue Dec  1 15:00:00 2026)" },
      { id: "service:vm:100", type: "service", sid: "vm:100", node: "pve1", state: "error", crm_state: "error", request_state: "started" },
      { id: "service:vm:101", type: "service", sid: "vm:101", node: "pve1", state: "started", crm_state: "started", request_state: "started" },
    ];
  });

  after(() => rig?.close());

  const cycle = async () => {
    const { inventory, transitions } = await rig.cycle();
    return { inventory, seen: transitions.map((t) => `${t.to} ${t.alert.rule} ${t.alert.labels.host ?? `cluster ${t.alert.labels.cluster}`}${t.alert.labels.pool ? `/${t.alert.labels.pool}` : ""} ${t.alert.severity}`).sort() };
  };

  test("a degraded pool with errors, a failing replication, an HA resource in error and a full shared storage fire; no Ceph is no failure", async () => {
    const { inventory, seen } = await cycle();
    assert.deepEqual(inventory.failures, []);
    assert.deepEqual(seen, [
      "firing HaServiceError web01 critical",
      "firing ProxmoxStorageFilling cluster lab critical",
      "firing ProxmoxStorageFilling cluster lab warning",
      "firing ReplicationFailed web01 warning",
      "firing ZfsPoolDegraded pve1/tank critical",
      "firing ZfsPoolErrors pve1/tank warning",
    ]);
    const alerts = await openAlerts(db);
    const storage = alerts.filter((a) => a.rule === "ProxmoxStorageFilling");
    assert.deepEqual(storage.map((a) => [a.hostId, a.labels]), [[null, { cluster: "lab", storage: "nfs-vm" }], [null, { cluster: "lab", storage: "nfs-vm" }]], "once for the cluster, on no node");
    assert.match(alerts.find((a) => a.rule === "ReplicationFailed")!.annotations.summary!, /replication 100-0 of guest 100 to pve2 failed 2 time\(s\): command 'zfs snapshot/);
    assert.match(alerts.find((a) => a.rule === "ZfsPoolErrors")!.annotations.summary!, /tank on Proxmox node pve1: 1 data errors/);
  });

  test("Ceph's HEALTH_WARN fires a warning for the cluster, with what Ceph says", async () => {
    pve.state.ceph = { fsid: "8f0c…", health: { status: "HEALTH_WARN", checks: { OSD_DOWN: { severity: "HEALTH_WARN", summary: { message: "1 osds down", count: 1 } } } } };
    const { seen } = await cycle();
    assert.deepEqual(seen, ["firing CephHealthWarning cluster lab warning"]);
    const ceph = (await openAlerts(db)).find((a) => a.rule === "CephHealthWarning")!;
    assert.equal(ceph.hostId, null);
    assert.equal(ceph.annotations.summary, "Ceph of lab is HEALTH_WARN: OSD_DOWN: 1 osds down");
  });

  test("everything repaired resolves every alert", async () => {
    const pve1 = pve.state.nodes.find((n) => n.node === "pve1")!;
    pve1.zfs = [{ name: "rpool", health: "ONLINE" }, { name: "tank", health: "ONLINE" }];
    pve1.replication = pve1.replication!.map((j) => ({ ...j, fail_count: 0, error: undefined }));
    pve.state.ha = pve.state.ha!.map((e) => (e.sid === "vm:100" ? { ...e, state: "started" } : e));
    pve.state.ceph = { health: { status: "HEALTH_OK", checks: {} } };
    for (const n of pve.state.nodes) n.storage = [nfs(500)];
    const { seen } = await cycle();
    assert.deepEqual(seen, [
      "resolved CephHealthWarning cluster lab warning",
      "resolved HaServiceError web01 critical",
      "resolved ProxmoxStorageFilling cluster lab critical",
      "resolved ProxmoxStorageFilling cluster lab warning",
      "resolved ReplicationFailed web01 warning",
      "resolved ZfsPoolDegraded pve1/tank critical",
      "resolved ZfsPoolErrors pve1/tank warning",
    ]);
    assert.deepEqual(await openAlerts(db), []);
  });

  test("quorum lost and HEALTH_ERR fire once for the cluster; an HA status that cannot be read judges nothing", async () => {
    pve.state.ha = [{ id: "quorum", type: "quorum", node: "pve1", status: "No quorum on node 'pve1'!", quorate: 0 }];
    pve.state.ceph = { health: { status: "HEALTH_ERR", checks: { MON_DOWN: { severity: "HEALTH_ERR", summary: { message: "2/3 mons down, quorum pve1" } } } } };
    assert.deepEqual((await cycle()).seen, ["firing CephHealthError cluster lab critical", "firing CephHealthWarning cluster lab warning", "firing ClusterQuorumLost cluster lab critical"]);
    pve.state.html.set("/cluster/ha/status/current", 502);
    try {
      const { inventory, seen } = await cycle();
      assert.deepEqual(inventory.failures.map((f) => [f.what, f.code]), [["HA status", "PROXMOX_BAD_RESPONSE"]]);
      assert.deepEqual(seen, []);
    } finally {
      pve.state.html.clear();
    }
  });
});
