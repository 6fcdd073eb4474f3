// Proxmox guest actions end to end: `netmap serve` discovering the PVE stand-in, actions sent
// over HTTP and with the real `netmap vm` CLI (gRPC), each PVE task (UPID) followed to its end:
// OK, or the exitstatus PVE's worker died with; a 403 names the privilege and path; every
// action is in the audit trail.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { findChromium, launchChromium } from "../helpers/chromium.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { eventually } from "../helpers/wait.ts";
import { startFakeProxmox, type FakeProxmox } from "../fakes/proxmox/server.ts";
import { fakeProxmoxConfig } from "../helpers/proxmox.ts";
import { clusterGuests, clusterNodes } from "../fixtures/proxmox/cluster.ts";

let pve: FakeProxmox;
let bed: CliTestbed;
const hostIds = new Map<string, number>();

const UPID = (node: string, type: string, vmid: number) => new RegExp(`^UPID:${node}:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:${type}:${vmid}:monitor@pve!netmap:$`);
const guest = (vmid: number) => pve.state.guests.find((g) => g.vmid === vmid)!;

async function post(host: string, action: string, body: object = {}) {
  const response = await bed.collector.fetch(`/api/v1/hosts/${hostIds.get(host)}/actions/${action}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any, location: response.headers.get("location") };
}

/** GET /api/v1/tasks/:id until the task is no longer running. */
async function finished(id: number) {
  return eventually(async () => {
    const { status, body } = await bed.collector.get(`/api/v1/tasks/${id}`);
    assert.equal(status, 200);
    return body.task.status === "running" ? undefined : body.task;
  }, `task ${id} to end`, 20_000);
}

before(async () => {
  pve = await startFakeProxmox({ nodes: clusterNodes(), guests: clusterGuests() });
  // One guest backed up an hour ago in pve1's local vzdump directory; every other never.
  pve.state.backups.push({ storage: "local", node: "pve1", vmid: 100, ctime: Math.floor(Date.now() / 1000) - 3600, size: 2 * 1024 ** 3 });
  bed = await startCliTestbed({
    config: (dir) => fakeProxmoxConfig(pve, dir),
  });
  await eventually(async () => {
    const { body } = await bed.collector.get("/api/v1/hosts");
    for (const h of body.hosts as Array<{ id: number; hostname: string }>) hostIds.set(h.hostname, h.id);
    return hostIds.has("web01") && hostIds.has("cache01") && hostIds.has("pve1");
  }, () => `the first discovery cycle to store the guests; hosts: ${[...hostIds.keys()].join(", ")}; log: ${JSON.stringify(bed.collector.logs.filter((l) => l.level >= 40).slice(-5))}`, 30_000);
});

after(async () => {
  await bed?.close();
  await pve?.close();
});

describe("guest actions over HTTP", () => {
  test("stop then start each answer 202 with a running task that ends OK, and the guest changes state", async () => {
    const stop = await post("web01", "stop");
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    assert.equal(stop.body.task.status, "running");
    assert.match(stop.body.task.upid, UPID("pve1", "qmstop", 100));
    assert.equal(stop.location, `/api/v1/tasks/${stop.body.task.id}`);
    const stopped = await finished(stop.body.task.id);
    assert.deepEqual([stopped.status, stopped.exitStatus, stopped.action, stopped.vmid, stopped.node], ["ok", "OK", "stop", 100, "pve1"]);
    assert.ok(stopped.endedAt);
    assert.equal(guest(100).status, "stopped");

    const start = await post("web01", "start");
    assert.equal(start.status, 202);
    assert.equal((await finished(start.body.task.id)).status, "ok");
    assert.equal(guest(100).status, "running");
  });

  test("a task PVE's worker fails ends failed with its exitstatus", async () => {
    const again = await post("web01", "start");
    assert.equal(again.status, 202, "PVE accepts the call; its worker fails");
    const task = await finished(again.body.task.id);
    assert.deepEqual([task.status, task.exitStatus], ["failed", "VM 100 already running"]);

    pve.state.actions.failures.set("100 reboot", "start failed: QEMU exited with code 1");
    const reboot = await post("web01", "reboot");
    assert.equal((await finished(reboot.body.task.id)).exitStatus, "start failed: QEMU exited with code 1");
    pve.state.actions.failures.clear();
  });

  test("shutdown of a guest that ignores it fails after the timeout, and with forceStop stops it", async () => {
    pve.state.actions.ignoresShutdown.add(100);
    const polite = await post("web01", "shutdown", { timeoutSeconds: 30 });
    assert.match(polite.body.task.upid, UPID("pve1", "qmshutdown", 100));
    const failed = await finished(polite.body.task.id);
    assert.deepEqual([failed.status, failed.exitStatus], ["failed", "VM quit/powerdown failed - got timeout"]);
    assert.equal(guest(100).status, "running");

    const forced = await post("web01", "shutdown", { timeoutSeconds: 30, forceStop: true });
    assert.equal((await finished(forced.body.task.id)).status, "ok");
    assert.equal(guest(100).status, "stopped");
    pve.state.actions.ignoresShutdown.clear();
    assert.equal((await finished((await post("web01", "start")).body.task.id)).status, "ok");
  });

  test("suspend and resume a container, its tasks named as pve-container names them", async () => {
    guest(105).status = "running";
    const suspend = await post("cache01", "suspend");
    assert.match(suspend.body.task.upid, UPID("pve2", "vzsuspend", 105));
    assert.equal((await finished(suspend.body.task.id)).status, "ok");
    assert.equal(guest(105).status, "paused");
    assert.equal((await finished((await post("cache01", "resume")).body.task.id)).status, "ok");
    assert.equal(guest(105).status, "running");
  });

  test("a 403 from PVE names the privilege and the path it checked; nothing is stored as a task", async () => {
    pve.state.actions.privileges = new Set(["VM.Audit", "Sys.Audit", "Datastore.Audit"]);
    try {
      const refused = await post("web01", "stop");
      assert.equal(refused.status, 502);
      assert.equal(refused.body.error.code, "PROXMOX_FORBIDDEN");
      assert.match(refused.body.error.message, /lacks VM\.PowerMgmt on \/vms\/100/);
      const snapshot = await post("web01", "snapshot", { snapshot: "before-upgrade" });
      assert.match(snapshot.body.error.message, /lacks VM\.Snapshot on \/vms\/100/);
      assert.equal(guest(100).status, "running");
    } finally {
      pve.state.actions.privileges = null;
    }
  });

  test("bad requests are refused before PVE is called: unknown action, bad snapshot name, a node, options of another action", async () => {
    const calls = pve.calls.length;
    const unknown = await post("web01", "explode");
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /unknown guest action "explode": expected start, shutdown/);
    assert.equal((await post("web01", "snapshot", { snapshot: "1-starts-with-a-digit" })).body.error.code, "BAD_REQUEST");
    assert.equal((await post("web01", "rollback")).body.error.code, "BAD_REQUEST");
    assert.equal((await post("web01", "stop", { forceStop: true })).body.error.code, "BAD_REQUEST");
    assert.equal((await post("web01", "stop", { extra: 1 })).body.error.code, "BAD_REQUEST");
    const node = await post("pve1", "stop");
    assert.deepEqual([node.status, node.body.error.code], [409, "GUEST_ACTION_REFUSED"]);
    assert.equal((await bed.collector.get("/api/v1/tasks/999999")).status, 404);
    assert.equal(pve.calls.slice(calls).filter((c) => !c.startsWith("GET")).length, 0, "no action reached PVE");
  });
});

describe("netmap vm", () => {
  test("snapshot, snapshots, rollback and delsnapshot run to OK; a failed one exits 1 with PVE's error", async () => {
    const taken = await bed.netmap(["vm", "snapshot", "web01", "--name", "before-upgrade", "--description", "kernel 6.8", "--yes"]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stdout, /snapshot before-upgrade on acme\/paris-dc1\/web01: OK/);
    assert.match(taken.stderr, /PVE task UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmsnapshot:100:/);

    const list = await bed.netmap(["vm", "snapshots", "web01", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const snapshots = JSON.parse(list.stdout) as Array<{ name: string; description: string }>;
    assert.deepEqual(snapshots.map((s) => [s.name, s.description]), [["before-upgrade", "kernel 6.8"]], "PVE's 'current' is no snapshot");

    const twice = await bed.netmap(["vm", "snapshot", "web01", "--name", "before-upgrade", "--yes"]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /snapshot before-upgrade on acme\/paris-dc1\/web01 failed: snapshot name 'before-upgrade' already used/);

    await bed.netmap(["vm", "stop", "web01", "--yes"]);
    assert.equal(guest(100).status, "stopped");
    const back = await bed.netmap(["vm", "rollback", "web01", "--name", "before-upgrade", "--yes"]);
    assert.equal(back.code, 0, back.stderr);
    const gone = await bed.netmap(["vm", "delsnapshot", "web01", "--name", "before-upgrade", "--yes"]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match((await bed.netmap(["vm", "snapshots", "web01"])).stdout, /has no snapshot/);
    assert.equal((await bed.netmap(["vm", "start", "web01", "--yes"])).code, 0);
  });

  test("asks first: without --yes and no terminal to confirm on, nothing is done", async () => {
    const calls = pve.calls.length;
    const run = await bed.netmap(["vm", "stop", "web01"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /give --yes/);
    assert.equal(pve.calls.slice(calls).filter((c) => c.startsWith("POST")).length, 0);
    assert.equal(guest(100).status, "running");
  });

  test("a 403 exits 1 naming the privilege; usage errors exit 2", async () => {
    pve.state.actions.privileges = new Set(["VM.Audit"]);
    try {
      const run = await bed.netmap(["vm", "reboot", "web01", "--yes"]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /lacks VM\.PowerMgmt on \/vms\/100/);
    } finally {
      pve.state.actions.privileges = null;
    }
    assert.equal((await bed.netmap(["vm", "snapshot", "web01", "--yes"])).code, 2);
    assert.equal((await bed.netmap(["vm", "stop", "web01", "--timeout", "5m", "--yes"])).code, 2);
  });

  test("every action is an audit entry: who, which guest, what, and how PVE answered", async () => {
    const { body } = await bed.collector.get("/api/v1/audit");
    const entries = (body.events as Array<{ action: string; target: string; outcome: string; transport: string }>).filter((e) => e.action === "guest_action");
    const id = hostIds.get("web01");
    assert.ok(entries.some((e) => e.target === `${id} stop` && e.outcome === "ok" && e.transport === "http"));
    assert.ok(entries.some((e) => e.target === `${id} stop` && e.outcome === "PROXMOX_FORBIDDEN"));
    assert.ok(entries.some((e) => e.target === "web01 snapshot before-upgrade" && e.outcome === "ok" && e.transport === "grpc"));
    assert.ok(entries.some((e) => e.target === "web01 reboot" && e.outcome === "PROXMOX_FORBIDDEN" && e.transport === "grpc"));
  });
});

describe("backup coverage", () => {
  test("GET /api/v1/backups and `netmap vm backups --never` list the guests never backed up first", async () => {
    const { status, body } = await bed.collector.get("/api/v1/backups");
    assert.equal(status, 200);
    const backups = body.backups as Array<{ host: string; vmid: number; lastBackupAt: string | null; checkedAt: string | null; volid: string | null }>;
    assert.ok(backups.every((b) => b.checkedAt !== null), "the first cycle listed every backup storage");
    assert.equal(backups.at(-1)!.host, "web01", "the one backed up comes after the never backed up");
    assert.match(backups.at(-1)!.volid!, /^local:backup\/vzdump-qemu-100-/);
    assert.deepEqual(backups.slice(0, -1).map((b) => b.lastBackupAt), backups.slice(0, -1).map(() => null));

    const run = await bed.netmap(["vm", "backups", "--never"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.match(lines[0]!, /^GUEST\s+CLUSTER\s+VMID\s+LAST BACKUP/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]).sort(), backups.slice(0, -1).map((b) => b.host).sort());
    assert.ok(lines.slice(1).every((l) => /\bnever\b/.test(l)));
  });
});

describe("the console's guest page", () => {
  test("a button asks first, then shows the task's end: OK, or PVE's error", async () => {
    const browser = await launchChromium(findChromium()!);
    try {
      const page = await browser.newPage();
      await page.goto(new URL(`/#token=${bed.collector.token}`, bed.collector.httpUrl).href);
      await page.evaluate(`location.hash = 'host=${hostIds.get("web01")}'`);
      await page.waitFor(`document.querySelector('button[data-guest-action=stop]')`, "the guest's action buttons", 30_000);
      // Declined: nothing is sent.
      const calls = pve.calls.length;
      await page.evaluate(`(() => { window.confirm = () => false; document.querySelector('button[data-guest-action=stop]').click(); })()`);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(pve.calls.slice(calls).filter((c) => c.startsWith("POST")).length, 0);

      await page.evaluate(`(() => { window.confirm = () => true; document.querySelector('button[data-guest-action=stop]').click(); })()`);
      await page.waitFor(`document.querySelector('.guest-actions + [role=status]')?.textContent === 'stop: OK'`, "stop: OK", 30_000);
      assert.equal(guest(100).status, "stopped");
      await page.evaluate(`document.querySelector('button[data-guest-action=stop]').click()`);
      const failed = await page.waitFor<string>(`document.querySelector('.guest-actions + [role=status]')?.textContent.startsWith('stop failed') && document.querySelector('.guest-actions + [role=status]').textContent`, "stop failed", 30_000);
      assert.equal(failed, "stop failed: VM 100 not running");
      // A discovered guest has no SSH address yet: its route is a 422 the page shows; nothing else went wrong.
      assert.deepEqual(page.errors.filter((e) => !/422 .*\/api\/v1\/routes\//.test(e)), []);
    } finally {
      await browser.close();
    }
    assert.equal((await finished((await post("web01", "start")).body.task.id)).status, "ok");
  });
});
