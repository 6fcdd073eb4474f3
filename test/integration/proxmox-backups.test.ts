// Backup coverage end to end: the stand-in's backup storages (a node's local vzdump directory,
// a PBS datastore shared by every node) and vzdump jobs, the poller storing each guest's newest
// archive, the evaluator firing and resolving BackupMissing, BackupTooOld (26 h by default,
// overridden per label, a guest excluded) and BackupJobFailed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import type { Transition } from "../../collector/src/alerts/engine.ts";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { Secret } from "../../collector/src/proxmox/config.ts";
import { startProxmoxPoller, type ProxmoxPoller } from "../../collector/src/proxmox/poller.ts";
import { proxmoxDetail } from "../../collector/src/proxmox/repository.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { startFakeProxmox, type FakeGuest, type FakeNode, type FakeProxmox } from "../fakes/proxmox/server.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const GiB = 1024 ** 3;
const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);
const rules = rulesConfigSchema.parse({
  BackupTooOld: { overrides: [{ match: { label: "backup=weekly" }, warning: 192 }] },
  // Without `for: 0s` a guest never backed up waits 26 h (one nightly job and slack) before it fires.
  BackupMissing: { for: "0s", overrides: [{ match: { host: "scratch01" }, enabled: false }] },
});
const pbs = { storage: "pbs-main", type: "pbs", total: 1000 * GiB, used: 100 * GiB, shared: 1 as const, content: "backup" };
const nodes = (): FakeNode[] => [
  { node: "pve1", storage: [{ storage: "local", type: "dir", total: 100 * GiB, used: 40 * GiB, content: "iso,vztmpl,backup" }, pbs], vzdump: [{ starttime: now() - 3 * HOUR, endtime: now() - 2 * HOUR, status: "OK" }] },
  { node: "pve2", storage: [{ storage: "local", type: "dir", total: 100 * GiB, used: 10 * GiB }, pbs], vzdump: [{
    starttime: now() - 3 * HOUR, endtime: now() - 2 * HOUR, status: "job errors",
    log: ["INFO: Starting Backup of VM 200 (qemu)", "ERROR: Backup of VM 200 failed - unable to open file '/mnt/pve/nfs/dump/vzdump-qemu-200.tmp' - No space left on device", "INFO: Starting Backup of VM 201 (qemu)", "INFO: Finished Backup of VM 201 (00:00:12)"],
  }] },
];
const vm = (vmid: number, name: string, node: string): FakeGuest => ({
  type: "qemu", vmid, name, node, status: "running", config: { name, net0: `virtio=BC:24:11:00:00:${vmid.toString(16).padStart(2, "0")},bridge=vmbr0` },
});

describe("backup coverage, through the poller and the evaluator", () => {
  let pve: FakeProxmox;
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let database: TestDatabase;
  let db: Db;
  let poller: ProxmoxPoller;
  let transitions: Transition[] = [];

  before(async () => {
    [pve, nats, database] = await Promise.all([
      startFakeProxmox({ nodes: nodes(), guests: [vm(100, "web01", "pve1"), vm(101, "db01", "pve1"), vm(200, "app01", "pve2"), vm(201, "scratch01", "pve2"), vm(202, "batch01", "pve2")] }),
      startNatsServer(),
      createTestDatabase(),
    ]);
    nc = await connect({ servers: nats.url });
    db = openDatabase(database.url);
    await migrateToLatest(db);
    // A person labels batch01: backed up weekly.
    await importTopology(db, parseTopologyFile("clients:\n  - name: acme\n    sites:\n      - name: paris-dc1\n        hosts:\n          - name: batch01\n            labels: { backup: weekly }\n"));
    const evaluator = new AlertEvaluator({ db, rules, log: pino({ level: "silent" }), notify: (t) => transitions.push(...t) });
    poller = startProxmoxPoller({
      clusters: [{ name: "lab", url: pve.url, tokenId: pve.tokenId, tokenSecret: new Secret(pve.secret), fingerprint: pve.fingerprint, intervalSeconds: 60, timeoutSeconds: 5, concurrency: 8, client: "acme", site: "paris-dc1" }],
      db, nc, log: pino({ level: "silent" }), schedule: false, onStored: (cycle) => evaluator.judgeProxmox(cycle),
    });
  });

  after(async () => {
    await poller?.stop();
    await nc?.drain();
    await db?.destroy();
    await Promise.all([pve?.close(), nats?.close(), database?.drop()]);
  });

  const cycle = async () => {
    transitions = [];
    const [result] = await poller.runOnce();
    return { inventory: result!.inventory, seen: transitions.map((t) => `${t.to} ${t.alert.rule} ${t.alert.labels.host}`).sort() };
  };
  const open = async () => (await openAlerts(db)).map((a) => `${a.state} ${a.rule} ${a.labels.host}`).sort();
  const hostId = async (name: string) => (await db.selectFrom("hosts").select("id").where("name", "=", name).executeTakeFirstOrThrow()).id;

  test("never backed up, too old, a failed job fire; fresh, excluded and weekly-labelled guests do not", async () => {
    pve.state.backups.push(
      { storage: "local", node: "pve1", vmid: 100, ctime: now() - 2 * HOUR, size: 3 * GiB },
      { storage: "local", node: "pve1", vmid: 100, ctime: now() - 26 * HOUR, size: 3 * GiB },
      { storage: "pbs-main", vmid: 101, ctime: now() - 30 * HOUR, size: 12 * GiB },
      { storage: "pbs-main", vmid: 202, ctime: now() - 100 * HOUR, size: 1 * GiB },
      // An archive of a guest deleted since: no host, nothing judged.
      { storage: "pbs-main", vmid: 999, ctime: now() - 500 * HOUR, size: 1 * GiB },
    );
    const { inventory, seen } = await cycle();
    assert.deepEqual(inventory.failures, []);
    assert.equal(inventory.backups?.complete, true);
    assert.deepEqual(seen, ["firing BackupJobFailed pve2", "firing BackupMissing app01", "firing BackupTooOld db01"]);
    const failed = (await openAlerts(db)).find((a) => a.rule === "BackupJobFailed")!;
    assert.match(failed.annotations.summary!, /latest backup job on Proxmox node pve2 failed: job errors \(200 \(app01\): unable to open file .* No space left on device\)$/);
    assert.match(failed.annotations.task!, /^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzdump::root@pam:$/);
    // The shared PBS datastore is listed once, not once per node.
    assert.equal(pve.calls.filter((c) => c.includes("/storage/pbs-main/content")).length, 1);

    const web01 = (await proxmoxDetail(db, await hostId("web01")))!;
    assert.match(web01.backup!.volid!, /^local:backup\/vzdump-qemu-100-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.vma\.zst$/);
    assert.equal(web01.backup!.sizeBytes, 3 * GiB);
    assert.ok(Math.abs(Date.parse(web01.backup!.at!) / 1000 - (now() - 2 * HOUR)) < 60, "the newest archive");
    const db01 = (await proxmoxDetail(db, await hostId("db01")))!;
    assert.match(db01.backup!.volid!, /^pbs-main:backup\/vm\/101\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal((await proxmoxDetail(db, await hostId("app01")))!.backup!.at, null, "checked, none");
  });

  test("a new backup and a job that ends OK resolve them", async () => {
    pve.state.backups.push({ storage: "pbs-main", vmid: 200, ctime: now() - 60, size: GiB }, { storage: "pbs-main", vmid: 101, ctime: now() - 60, size: 12 * GiB });
    pve.state.nodes.find((n) => n.node === "pve2")!.vzdump!.push({ starttime: now() - 120, endtime: now() - 60, status: "WARNINGS: 1" });
    const { seen } = await cycle();
    assert.deepEqual(seen, ["resolved BackupJobFailed pve2", "resolved BackupMissing app01", "resolved BackupTooOld db01"]);
    assert.deepEqual(await open(), []);
  });

  test("a cycle that cannot list a backup storage judges no backup: nothing fires or resolves", async () => {
    pve.state.backups = pve.state.backups.filter((b) => b.vmid !== 200);
    pve.state.html.set("/nodes/pve1/storage/pbs-main/content", 502);
    try {
      const { inventory, seen } = await cycle();
      assert.equal(inventory.backups?.complete, false);
      assert.deepEqual(inventory.failures.map((f) => f.what), ["backups on pbs-main (node pve1)"]);
      assert.deepEqual(seen, []);
      assert.notEqual((await proxmoxDetail(db, await hostId("app01")))!.backup!.at, null, "the last known backup stays");
    } finally {
      pve.state.html.clear();
    }
    assert.deepEqual((await cycle()).seen, ["firing BackupMissing app01"]);
  });

  test("a snapshot kept over 7 days fires SnapshotTooOld on its guest, naming it; only guests with a snapshot are asked", async () => {
    const day = 24 * HOUR;
    pve.state.actions.snapshots.set(100, [{ name: "before-upgrade", snaptime: now() - 10 * day, status: "running" }, { name: "after", snaptime: now() - day, status: "running", parent: "before-upgrade" }]);
    pve.state.actions.snapshots.set(101, [{ name: "yesterday", snaptime: now() - day, status: "running" }]);
    const calls = pve.calls.length;
    assert.deepEqual((await cycle()).seen, ["firing SnapshotTooOld web01"]);
    assert.deepEqual(pve.calls.slice(calls).filter((c) => c.endsWith("/snapshot")).sort(), ["GET /api2/json/nodes/pve1/qemu/100/snapshot", "GET /api2/json/nodes/pve1/qemu/101/snapshot"]);
    assert.match((await openAlerts(db)).find((a) => a.rule === "SnapshotTooOld")!.annotations.summary!, /snapshot before-upgrade of Proxmox VM 100 \(web01\) is 10\.0 days old/);
    pve.state.actions.snapshots.delete(100);
    assert.deepEqual((await cycle()).seen, ["resolved SnapshotTooOld web01"]);
  });
});
