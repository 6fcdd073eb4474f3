// The parsers of issue 20's PVE answers, on responses as PVE 8 writes them: a node's network
// configuration, backup storages and their content (vzdump and PBS), vzdump tasks, UPIDs and
// snapshot lists.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSnapshots, parseUpid } from "../../../collector/src/proxmox/guest-actions.ts";
import { parseBackupContent, parseBackupLogFailures, parseBackupStorages, parseLatestBackupTask, parseNodeNetwork } from "../../../collector/src/proxmox/parse.ts";

describe("proxmox day-two parsers", () => {
  test("node network - the gateway's interface is the managed address; loopback, link-local and pending-only entries are left out", () => {
    assert.deepEqual(
      parseNodeNetwork([
        { iface: "lo", type: "loopback", method: "loopback", active: 1, cidr: "127.0.0.1/8" },
        { iface: "eno1", type: "eth", method: "manual", active: 1, priority: 3 },
        { iface: "vmbr1", type: "bridge", cidr: "192.0.2.2/24", priority: 6 },
        { iface: "vmbr0", type: "bridge", cidr: "10.0.0.2/24", gateway: "10.0.0.1", cidr6: "fe80::1/64", priority: 5 },
        { iface: "vmbr9", type: "bridge", cidr6: "2001:db8::9/64", gateway6: "2001:db8::1", priority: 7 },
      ]),
      { address: "10.0.0.2", addresses: ["10.0.0.2", "192.0.2.2", "2001:db8::9"] },
    );
    assert.deepEqual(parseNodeNetwork([{ iface: "vmbr0", address: "10.0.0.3", netmask: "255.255.255.0" }]), { address: "10.0.0.3", addresses: ["10.0.0.3"] }, "PVE before 7: no cidr");
    assert.deepEqual(parseNodeNetwork([{ iface: "vmbr0", cidr6: "2001:db8::2/64", gateway6: "2001:db8::1" }]), { address: "2001:db8::2", addresses: ["2001:db8::2"] });
    assert.deepEqual(parseNodeNetwork([{ iface: "eno1", type: "eth" }]), { address: null, addresses: [] });
    assert.throws(() => parseNodeNetwork({ iface: "vmbr0" }), /network: expected a list/);
  });

  test("backup storages - content lists backup, enabled and active; shared ones said so", () => {
    assert.deepEqual(
      parseBackupStorages([
        { storage: "local", type: "dir", content: "iso,vztmpl,backup", active: 1, enabled: 1, shared: 0 },
        { storage: "local-lvm", type: "lvmthin", content: "images,rootdir", active: 1, enabled: 1 },
        { storage: "pbs-main", type: "pbs", content: "backup", active: 1, enabled: 1, shared: 1 },
        { storage: "nfs-old", type: "nfs", content: "backup", active: 0, enabled: 1, shared: 1 },
        { storage: "nfs-off", type: "nfs", content: "backup", active: 1, enabled: 0, shared: 1 },
      ]),
      [{ storage: "local", type: "dir", shared: false }, { storage: "pbs-main", type: "pbs", shared: true }],
    );
  });

  test("backup content - vzdump files and PBS snapshots alike; entries without vmid or ctime skipped", () => {
    const archives = parseBackupContent([
      { volid: "local:backup/vzdump-qemu-100-2026_12_01-02_00_03.vma.zst", content: "backup", format: "vma.zst", ctime: 1796090403, size: 3221225472, vmid: 100, subtype: "qemu" },
      { volid: "pbs-main:backup/ct/105/2026-12-01T02:10:00Z", content: "backup", format: "pbs-ct", ctime: 1796091000, size: "1073741824", vmid: "105" },
      { volid: "local:backup/stray.log", content: "backup", size: 10 },
    ], "pbs-main");
    assert.deepEqual(archives.map((a) => [a.vmid, a.volid.split(":")[0], a.at.toISOString(), a.sizeBytes]), [
      [100, "local", "2026-12-01T02:00:03.000Z", 3221225472],
      [105, "pbs-main", "2026-12-01T02:10:00.000Z", 1073741824],
    ]);
  });

  test("vzdump tasks - the latest finished one; WARNINGS is no failure, an error is", () => {
    const task = (starttime: number, status: string) => ({ upid: `UPID:pve1:00001234:0000ABCD:${starttime.toString(16).toUpperCase()}:vzdump::root@pam:`, type: "vzdump", starttime, endtime: starttime + 60, status });
    assert.deepEqual(parseLatestBackupTask([task(1796000000, "OK"), task(1796090000, "job errors")])?.failed, true);
    assert.equal(parseLatestBackupTask([task(1796090000, "WARNINGS: 2")])?.failed, false);
    assert.equal(parseLatestBackupTask([]), null);
    assert.equal(parseLatestBackupTask([{ ...task(1796090000, ""), status: undefined }]), null, "a running job has no status yet");
  });

  test("vzdump log - each guest the job could not back up, with vzdump's reason", () => {
    const log = [
      "INFO: starting new backup job: vzdump --all 1 --mode snapshot --storage pbs-main", "INFO: Starting Backup of VM 100 (qemu)", "INFO: Finished Backup of VM 100 (00:01:02)",
      "ERROR: Backup of VM 105 failed - CT is locked (snapshot-delete)", "ERROR: Backup of VM 101 failed - job failed with err -5 - Input/output error", "TASK ERROR: job errors",
    ].map((t, i) => ({ n: i + 1, t }));
    assert.deepEqual(parseBackupLogFailures(log), [{ vmid: 101, error: "job failed with err -5 - Input/output error" }, { vmid: 105, error: "CT is locked (snapshot-delete)" }]);
    assert.deepEqual(parseBackupLogFailures([]), []);
  });

  test("UPIDs - as PVE::Tools writes them; anything else is not one", () => {
    assert.deepEqual(parseUpid("UPID:pve1:000B2C3D:01A2B3C4:674C1E80:qmstart:100:monitor@pve!netmap:"), {
      node: "pve1", type: "qmstart", id: "100", user: "monitor@pve!netmap", startedAt: new Date(0x674c1e80 * 1000),
    });
    assert.equal(parseUpid("UPID:pve1:000B2C3D:01A2B3C4:674C1E80:vzdump::root@pam:")?.id, "");
    for (const bad of ["", "UPID:pve1", "UPID:pve1:zz:01A2B3C4:674C1E80:qmstart:100:root@pam:", "UPID:pve1:000B2C3D:01A2B3C4:674C1E80:qmstart:100:root@pam"]) assert.equal(parseUpid(bad), null, bad);
  });

  test("snapshot list - 'current' is where the guest is, not a snapshot; oldest first", () => {
    assert.deepEqual(
      parseSnapshots([
        { name: "current", description: "You are here!", running: 1, parent: "after" },
        { name: "after", description: "kernel 6.8\n", snaptime: 1796090000, parent: "before", vmstate: 1 },
        { name: "before", description: "", snaptime: 1796000000 },
      ]),
      [
        { name: "before", description: "", takenAt: new Date(1796000000 * 1000).toISOString(), parent: null, withMemory: false },
        { name: "after", description: "kernel 6.8", takenAt: new Date(1796090000 * 1000).toISOString(), parent: "before", withMemory: true },
      ],
    );
  });
});
