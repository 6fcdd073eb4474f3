import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { step, type Alert, type Observation } from "../../../../collector/src/alerts/engine.ts";
import { judgeBackups } from "../../../../collector/src/alerts/rules/backups.ts";
import { judgeProxmox, newProxmoxMemory } from "../../../../collector/src/alerts/rules/proxmox.ts";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";
import type { ProxmoxCycle, ProxmoxResourceState } from "../../../../collector/src/proxmox/cycle.ts";
import type { StorageUsage } from "../../../../collector/src/proxmox/parse.ts";

const none = rulesConfigSchema.parse({});
const node = (over: Partial<ProxmoxResourceState> = {}): ProxmoxResourceState => ({ hostId: 1, host: "pve1", type: "node", node: "pve1", vmid: 0, status: "online", stale: false, storage: [], ...over });
const guest = (over: Partial<ProxmoxResourceState> = {}): ProxmoxResourceState => ({ hostId: 10, host: "web01", type: "qemu", node: "pve1", vmid: 100, status: "running", stale: false, ...over });
const cycle = (resources: ProxmoxResourceState[], listed = true): ProxmoxCycle => ({ cluster: "lab", client: "acme", site: "paris", listed, resources });
const storage = (name: string, usedPercent: number, over: Partial<StorageUsage> = {}): StorageUsage => ({
  storage: name, type: "lvmthin", total: 1000, used: usedPercent * 10, avail: 1000 - usedPercent * 10, active: true, shared: false, ...over,
});
const only = (list: Array<{ observation: Observation }>, rule: string) => list.map((o) => o.observation).filter((o) => o.rule === rule);

describe("Proxmox rules", () => {
  test("a node offline or unreachable is down (critical, after its for); online clears it", () => {
    const memory = newProxmoxMemory();
    for (const [state, down] of [[{ status: "offline" }, true], [{ status: "online", stale: true }, true], [{ status: "online" }, false]] as const) {
      const [o] = only(judgeProxmox(cycle([node(state)]), memory, new Set(), none), "ProxmoxNodeDown");
      assert.equal(o!.active, down);
      assert.equal(o!.cleared, !down);
      assert.equal(o!.severity, "critical");
      assert.equal(o!.forSeconds, 60);
      assert.deepEqual(o!.labels, { host: "pve1", cluster: "lab", node: "pve1" });
    }
  });

  test("a guest seen running then stopped is down; one first seen stopped is not", () => {
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([node(), guest(), guest({ hostId: 11, host: "old", vmid: 101, status: "stopped" })]), memory, new Set(), none);
    const judged = only(judgeProxmox(cycle([node(), guest({ status: "stopped" }), guest({ hostId: 11, host: "old", vmid: 101, status: "stopped" })]), memory, new Set(), none), "ProxmoxGuestDown");
    const web = judged.find((o) => o.labels.host === "web01")!;
    assert.equal(web.active, true);
    assert.equal(web.forSeconds, 60);
    assert.deepEqual(web.labels, { host: "web01", cluster: "lab", node: "pve1", vmid: "100" });
    assert.equal(judged.find((o) => o.labels.host === "old")!.active, false);
    // Running again: cleared.
    const [back] = only(judgeProxmox(cycle([node(), guest()]), memory, new Set(), none), "ProxmoxGuestDown");
    assert.equal(back!.cleared, true);
  });

  test("an open alert keeps a stopped guest down after a restart (memory lost)", () => {
    const [o] = only(judgeProxmox(cycle([guest({ status: "stopped" })]), newProxmoxMemory(), new Set([10]), none), "ProxmoxGuestDown");
    assert.equal(o!.active, true);
  });

  test("a guest locked for backup gets the grace period (30 min by default, overridable)", () => {
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([guest()]), memory, new Set(), none);
    const [locked] = only(judgeProxmox(cycle([guest({ status: "stopped", lock: "backup" })]), memory, new Set(), none), "ProxmoxGuestDown");
    assert.equal(locked!.active, true);
    assert.equal(locked!.forSeconds, 1800);
    const rules = rulesConfigSchema.parse({ ProxmoxGuestDown: { grace: "1h", for: "0s" } });
    const [custom] = only(judgeProxmox(cycle([guest({ status: "stopped", lock: "backup" })]), memory, new Set(), rules), "ProxmoxGuestDown");
    assert.equal(custom!.forSeconds, 3600);
    // Another lock is no grace.
    const [migrating] = only(judgeProxmox(cycle([guest({ status: "stopped", lock: "migrate" })]), memory, new Set(), rules), "ProxmoxGuestDown");
    assert.equal(migrating!.forSeconds, 0);
  });

  test("the grace ends with the lock: a guest still stopped then fires after `for` from when it stopped", () => {
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([guest()]), memory, new Set(), none);
    const t0 = new Date("2026-01-01T00:00:00Z");
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    let alert: Alert | undefined;
    const run = (r: ProxmoxResourceState, s: number) => {
      const [o] = only(judgeProxmox(cycle([r]), memory, new Set(), none), "ProxmoxGuestDown");
      const result = step(alert, o!, at(s));
      alert = result.alert;
      return result.transition?.to;
    };
    assert.equal(run(guest({ status: "stopped", lock: "backup" }), 0), undefined);
    assert.equal(run(guest({ status: "stopped", lock: "backup" }), 600), undefined);
    assert.equal(alert!.state, "pending");
    assert.equal(run(guest({ status: "stopped" }), 660), "firing");
  });

  test("stale guests and failed listings give no observation (state kept)", () => {
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([guest()]), memory, new Set(), none);
    assert.deepEqual(judgeProxmox(cycle([guest({ status: "unknown", stale: true })]), memory, new Set(), none), []);
    assert.deepEqual(judgeProxmox(cycle([guest({ status: "stopped", stale: true })]), memory, new Set(), none), []);
    assert.deepEqual(judgeProxmox(cycle([node({ status: "offline" }), guest({ status: "stopped" })], false), memory, new Set(), none), []);
  });

  test("storage filling: 85 warning / 95 critical with hysteresis, per node and storage; unreachable node: none", () => {
    const memory = newProxmoxMemory();
    const judged = only(judgeProxmox(cycle([node({ storage: [storage("local", 90), storage("local-lvm", 96), storage("nfs", 99, { active: false }), storage("x", 50, { total: 0 })] })]), memory, new Set(), none), "ProxmoxStorageFilling");
    const of = (name: string, severity: string) => judged.find((o) => o.labels.storage === name && o.severity === severity)!;
    assert.equal(of("local", "warning").active, true);
    assert.equal(of("local", "critical").active, false);
    assert.equal(of("local-lvm", "critical").active, true);
    assert.deepEqual(of("local", "warning").labels, { host: "pve1", cluster: "lab", node: "pve1", storage: "local" });
    assert.equal(judged.filter((o) => o.labels.storage === "nfs" || o.labels.storage === "x").length, 0);
    // 82 %: between the clear (80) and fire (85) thresholds — neither.
    const [hovering] = only(judgeProxmox(cycle([node({ storage: [storage("local", 82)] })]), memory, new Set(), none), "ProxmoxStorageFilling");
    assert.equal(hovering!.active, false);
    assert.equal(hovering!.cleared, false);
    assert.deepEqual(only(judgeProxmox(cycle([node({ stale: true, storage: null })]), memory, new Set(), none), "ProxmoxStorageFilling"), []);
  });

  test("a shared storage fires once for the cluster, not once per node; per-node alerts of it resolve", () => {
    const nfs = (usedPercent: number) => storage("nfs", usedPercent, { shared: true, type: "nfs" });
    const judged = judgeProxmox(
      cycle([node({ storage: [nfs(96), storage("local", 10)] }), node({ hostId: 2, host: "pve2", node: "pve2", storage: [nfs(96)] })]),
      newProxmoxMemory(), new Set(), none,
    ).filter((o) => o.observation.rule === "ProxmoxStorageFilling" && o.observation.labels.storage === "nfs");
    const firing = judged.filter((o) => o.observation.active);
    assert.deepEqual(firing.map((o) => [o.hostId, o.observation.severity, o.observation.labels]), [
      [null, "warning", { cluster: "lab", storage: "nfs" }],
      [null, "critical", { cluster: "lab", storage: "nfs" }],
    ]);
    assert.match(firing[0]!.observation.annotations.summary!, /shared storage nfs of Proxmox cluster lab is 96\.0% full/);
    // The per-node fingerprints of the first wave are cleared, on each node.
    assert.deepEqual(judged.filter((o) => o.observation.labels.node).map((o) => [o.observation.labels.node, o.observation.cleared]).sort(), [["pve1", true], ["pve1", true], ["pve2", true], ["pve2", true]]);
  });

  test("overrides: per storage (as mountpoint), per host, disabled", () => {
    const rules = rulesConfigSchema.parse({
      ProxmoxStorageFilling: { overrides: [{ match: { mountpoint: "backup" }, warning: 97, critical: 99 }] },
      ProxmoxGuestDown: { overrides: [{ match: { host: "web01" }, enabled: false }] },
      ProxmoxNodeDown: { for: "5m" },
    });
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([guest()]), memory, new Set(), rules);
    const judged = judgeProxmox(cycle([node({ storage: [storage("backup", 96)] }), guest({ status: "stopped" })]), memory, new Set(), rules);
    assert.equal(only(judged, "ProxmoxStorageFilling").some((o) => o.active), false);
    assert.deepEqual(only(judged, "ProxmoxGuestDown"), []);
    assert.equal(only(judged, "ProxmoxNodeDown")[0]!.forSeconds, 300);
  });

  test("a guest the previous stored cycle saw running is down when stopped, even with a fresh memory (restart)", () => {
    const [o] = only(judgeProxmox(cycle([guest({ status: "stopped", previousStatus: "running" })]), newProxmoxMemory(), new Set(), none), "ProxmoxGuestDown");
    assert.equal(o!.active, true);
    const [p] = only(judgeProxmox(cycle([guest({ status: "stopped", previousStatus: "stopped" })]), newProxmoxMemory(), new Set(), none), "ProxmoxGuestDown");
    assert.equal(p!.active, false);
  });

  test("a guest or node gone from the cluster is not down: its alert resolves", () => {
    const memory = newProxmoxMemory();
    judgeProxmox(cycle([guest()]), memory, new Set(), none);
    const judged = judgeProxmox(cycle([guest({ status: "gone", gone: true }), node({ status: "gone", gone: true })]), memory, new Set(), none);
    assert.deepEqual(judged.map((o) => [o.observation.rule, o.observation.active, o.observation.cleared]), [["ProxmoxGuestDown", false, true], ["ProxmoxNodeDown", false, true]]);
    assert.equal(memory.seenRunning.has(10), false);
  });

  test("grace is refused on other rules", () => {
    assert.throws(() => rulesConfigSchema.parse({ HostCpuBusy: { grace: "5m" } }), /grace applies only to ProxmoxGuestDown/);
  });

  test("a guest never backed up pages after 26 h without an archive, not at its first cycle; `for` shortens the wait", () => {
    const neverBackedUp = cycle([guest({ backup: { at: null, volid: null, sizeBytes: null } })]);
    const created = new Date("2026-12-01T14:00:00Z");
    const at = (hours: number) => new Date(created.getTime() + hours * 3600_000);
    const [observation] = only(judgeBackups(neverBackedUp, none, created), "BackupMissing");
    let alert: Alert | undefined;
    const states: string[] = [];
    for (const hours of [0, 12, 25.9, 26]) {
      ({ alert } = step(alert, observation!, at(hours)));
      states.push(`${hours} h ${alert!.state}`);
    }
    assert.deepEqual(states, ["0 h pending", "12 h pending", "25.9 h pending", "26 h firing"]);
    const [now] = only(judgeBackups(neverBackedUp, rulesConfigSchema.parse({ BackupMissing: { for: "0s" } }), created), "BackupMissing");
    assert.equal(step(undefined, now!, created).alert!.state, "firing");
  });
});
