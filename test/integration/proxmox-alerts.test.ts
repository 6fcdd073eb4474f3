// The Proxmox alert rules end to end: the stand-in Proxmox API, the poller
// storing each cycle in a fresh database, the evaluator judging it after the
// store commits, alert state in PostgreSQL.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import type { Db } from "../../collector/src/db/database.ts";
import type { FakeGuest, FakeNode, FakeProxmox } from "../fakes/proxmox/server.ts";
import { startProxmoxRig, type ProxmoxRig } from "../helpers/proxmox-rig.ts";

const GiB = 1024 ** 3;
// This cluster has no backup storage: the backup rules (proxmox-backups.test.ts) would fire for every guest.
const rules = rulesConfigSchema.parse({ ProxmoxGuestDown: { for: "0s" }, ProxmoxNodeDown: { for: "1s" }, ProxmoxStorageFilling: { for: "0s" }, BackupMissing: { enabled: false } });
const nodes = (): FakeNode[] => [
  { node: "pve1", storage: [{ storage: "local", type: "dir", total: 100 * GiB, used: 40 * GiB }, { storage: "local-lvm", type: "lvmthin", total: 100 * GiB, used: 50 * GiB }] },
  { node: "pve2", storage: [{ storage: "local", type: "dir", total: 100 * GiB, used: 10 * GiB }] },
];
const vm = (vmid: number, name: string, node: string, status: FakeGuest["status"]): FakeGuest => ({
  type: "qemu", vmid, name, node, status, config: { name, net0: `virtio=BC:24:11:00:00:${vmid.toString(16).padStart(2, "0")},bridge=vmbr0` },
  agent: { error: { class: "GenericError", desc: "No QEMU guest agent configured" } },
});

describe("Proxmox alert rules, through the poller and the evaluator", () => {
  let rig: ProxmoxRig;
  let pve: FakeProxmox;
  let db: Db;

  before(async () => {
    rig = await startProxmoxRig({
      nodes: nodes(),
      guests: [vm(100, "web01", "pve1", "running"), vm(101, "db01", "pve1", "running"), vm(102, "spare", "pve1", "stopped"), vm(200, "app01", "pve2", "running")],
      rules,
      timeoutSeconds: 1,
    });
    ({ pve, db } = rig);
  });

  after(() => rig?.close());

  const cycle = async () =>
    (await rig.cycle()).transitions.map((t) => `${t.to} ${t.alert.rule} ${t.alert.labels.host}${t.alert.labels.storage ? `/${t.alert.labels.storage}` : ""} ${t.alert.severity}`).sort();
  const open = async () => (await openAlerts(db)).map((a) => `${a.state} ${a.rule} ${a.labels.host}${a.labels.storage ? `/${a.labels.storage}` : ""} ${a.severity}`).sort();
  const guest = (vmid: number) => pve.state.guests.find((g) => g.vmid === vmid)!;

  test("a healthy cluster, a guest stopped on purpose: nothing fires", async () => {
    assert.deepEqual(await cycle(), []);
    assert.deepEqual(await cycle(), []);
    assert.deepEqual(await open(), []);
  });

  test("a running guest stopped fires; started again resolves", async () => {
    guest(100).status = "stopped";
    assert.deepEqual(await cycle(), ["firing ProxmoxGuestDown web01 critical"]);
    assert.deepEqual(await cycle(), []);
    guest(100).status = "running";
    assert.deepEqual(await cycle(), ["resolved ProxmoxGuestDown web01 critical"]);
  });

  test("a guest stopped while locked for backup does not fire within the grace period; the lock gone, it does", async () => {
    Object.assign(guest(101), { status: "stopped", lock: "backup" });
    assert.deepEqual(await cycle(), []);
    assert.deepEqual(await open(), ["pending ProxmoxGuestDown db01 critical"]);
    assert.deepEqual(await cycle(), []);
    delete guest(101).lock;
    assert.deepEqual(await cycle(), ["firing ProxmoxGuestDown db01 critical"]);
    guest(101).status = "running";
    assert.deepEqual(await cycle(), ["resolved ProxmoxGuestDown db01 critical"]);
  });

  test("a node answering 595: ProxmoxNodeDown fires after its for; its guests' alerts keep their state", async () => {
    guest(200).status = "stopped";
    assert.deepEqual(await cycle(), ["firing ProxmoxGuestDown app01 critical"]);
    pve.state.nodes.find((n) => n.node === "pve2")!.unreachable = true;
    assert.deepEqual(await cycle(), []);
    assert.deepEqual(await open(), ["firing ProxmoxGuestDown app01 critical", "pending ProxmoxNodeDown pve2 critical"]);
    await new Promise((r) => setTimeout(r, 1100));
    // Proxmox says "unknown" for app01 now, and it may well be running: not resolved, not judged.
    guest(200).status = "running";
    assert.deepEqual(await cycle(), ["firing ProxmoxNodeDown pve2 critical"]);
    assert.deepEqual(await open(), ["firing ProxmoxGuestDown app01 critical", "firing ProxmoxNodeDown pve2 critical"]);
    pve.state.nodes.find((n) => n.node === "pve2")!.unreachable = false;
    assert.deepEqual(await cycle(), ["resolved ProxmoxGuestDown app01 critical", "resolved ProxmoxNodeDown pve2 critical"]);
  });

  test("a collector restarted between a guest's running and stopped cycles still sees it stop", async () => {
    rig.restartEvaluator();
    guest(200).status = "stopped";
    assert.deepEqual(await cycle(), ["firing ProxmoxGuestDown app01 critical"]);
  });

  test("a stopped guest deleted from the cluster: its alert resolves", async () => {
    pve.state.guests = pve.state.guests.filter((g) => g.vmid !== 200);
    assert.deepEqual(await cycle(), ["resolved ProxmoxGuestDown app01 critical"]);
    assert.deepEqual(await open(), []);
  });

  test("storage at 90 % is a warning, at 96 % critical too; freed, both resolve", async () => {
    const local = pve.state.nodes[0]!.storage!.find((s) => s.storage === "local-lvm")!;
    local.used = 90 * GiB;
    assert.deepEqual(await cycle(), ["firing ProxmoxStorageFilling pve1/local-lvm warning"]);
    local.used = 96 * GiB;
    assert.deepEqual(await cycle(), ["firing ProxmoxStorageFilling pve1/local-lvm critical"]);
    local.used = 83 * GiB; // below critical's clear (92), above warning's (80): warning holds
    assert.deepEqual(await cycle(), ["resolved ProxmoxStorageFilling pve1/local-lvm critical"]);
    local.used = 50 * GiB;
    assert.deepEqual(await cycle(), ["resolved ProxmoxStorageFilling pve1/local-lvm warning"]);
    assert.deepEqual(await open(), []);
  });
});
