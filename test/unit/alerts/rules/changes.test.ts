import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { judgeChanges, LISTENER_MEMORY_SECONDS, MAX_LISTENER_TRACKS, trackInterfaces, trackListeners, type HostHistory } from "../../../../collector/src/alerts/rules/changes.ts";
import { step, type Alert } from "../../../../collector/src/alerts/engine.ts";
import { rulesConfigSchema, type RulesConfig } from "../../../../collector/src/alerts/settings.ts";
import { Protocol, type DeepPartial, type HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import { sampleReport } from "../../../helpers/reports.ts";

const t0 = Date.parse("2026-11-23T10:00:00Z");
const BOOT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const instant = rulesConfigSchema.parse({ ListenerGone: { for: "0s" } });

const ssh = { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 22, pid: 500, process: "sshd" };
const chrony = { protocol: Protocol.PROTOCOL_UDP, address: "127.0.0.1", port: 323, process: "" };
const postgres = { protocol: Protocol.PROTOCOL_TCP, address: "127.0.0.1", port: 5432, pid: 700, process: "postgres" };
const eth0 = (address = "192.0.2.10", mac = "52:54:00:12:34:56") => ({ name: "eth0", mac, addresses: [{ address, prefixLength: 24 }, { address: "fe80::5054:ff:fe12:3456", prefixLength: 64 }], up: true, virtual: false });

/**
 * A host reporting every 10 s through the change rules and the engine, with
 * the alert store in a Map as the evaluator keeps it in PostgreSQL. Returns
 * what each report changed, as "seconds:Rule:to[:label=value]".
 */
class Host {
  history: HostHistory | undefined;
  readonly alerts = new Map<string, Alert>();
  readonly transitions: string[] = [];
  #seq = 0;
  readonly config: RulesConfig;

  constructor(config: RulesConfig = instant) {
    this.config = config;
  }

  report(seconds: number, overrides: DeepPartial<HostReport> = {}, label?: string): string[] {
    const collectedAt = new Date(t0 + seconds * 1000);
    const report = sampleReport({ seq: ++this.#seq, collectedAt, os: { uptimeSeconds: 86400 + seconds }, ...overrides });
    const open = [...this.alerts.values()].filter((a) => a.state !== "resolved");
    const { observations, history } = judgeChanges({ host: "web01", report, previous: this.history, open, now: collectedAt }, this.config);
    this.history = history;
    const out: string[] = [];
    for (const observation of observations) {
      const current = [...this.alerts.values()].find((a) => a.rule === observation.rule && JSON.stringify(a.labels) === JSON.stringify(observation.labels));
      const result = step(current, observation, collectedAt);
      if (current && !result.alert) this.alerts.delete(current.fingerprint);
      if (result.alert) this.alerts.set(result.alert.fingerprint, result.alert);
      if (result.transition) out.push(`${seconds}:${observation.rule}:${result.transition.to}${label ? `:${observation.labels[label]}` : ""}`);
    }
    this.transitions.push(...out);
    return out;
  }

  /** A restarted collector: the history is gone, the alerts are still in the database. */
  restart(): void {
    this.history = undefined;
  }
}

describe("change rules", () => {
  test("a steady host raises nothing", () => {
    const host = new Host();
    for (let s = 0; s <= 600; s += 10) host.report(s, { listeners: [ssh, chrony], interfaces: [eth0()] });
    assert.deepEqual(host.transitions, []);
  });

  describe("HostRebooted", () => {
    test("a changed boot id fires once, and resolves once uptime passes 15 minutes", () => {
      const host = new Host();
      host.report(0);
      host.report(10);
      const boot = "11111111-2222-3333-4444-555555555555";
      // Rebooted between two reports, 10 s apart: too fast to look down. Uptime from 5 s on.
      for (let s = 20; s <= 1000; s += 10) host.report(s, { bootId: boot, os: { uptimeSeconds: s - 15 } });
      assert.deepEqual(host.transitions, ["20:HostRebooted:firing", "920:HostRebooted:resolved"]);
    });

    test("a host first seen with a short uptime is not taken for rebooted (a fresh install, a new agent)", () => {
      const host = new Host();
      assert.deepEqual(host.report(0, { os: { uptimeSeconds: 40 } }), []);
      assert.deepEqual(host.report(10, { os: { uptimeSeconds: 50 } }), []);
    });

    test("after a collector restart an open reboot alert stays open while the uptime is short", () => {
      const host = new Host();
      host.report(0, { os: { uptimeSeconds: 86400 } });
      assert.deepEqual(host.report(10, { bootId: "a-new-boot", os: { uptimeSeconds: 40 } }), ["10:HostRebooted:firing"]);
      assert.equal([...host.alerts.values()][0]!.annotations.summary, "web01 rebooted 40 s ago (boot id changed)");
      host.history = undefined;
      assert.deepEqual(host.report(20, { bootId: "a-new-boot", os: { uptimeSeconds: 50 } }), []);
      assert.deepEqual(host.report(900, { bootId: "a-new-boot", os: { uptimeSeconds: 940 } }), ["900:HostRebooted:resolved"]);
    });

    test("a boot id change seen after a long uptime (the collector was away) fires and resolves on the next report", () => {
      const host = new Host();
      host.report(0);
      host.report(10, { bootId: "another-boot" });
      host.report(20, { bootId: "another-boot" });
      assert.deepEqual(host.transitions, ["10:HostRebooted:firing", "20:HostRebooted:resolved"]);
    });
  });

  describe("ListenerGone", () => {
    test("a socket seen in 3 reports that disappears fires with its labels, and resolves when it listens again", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, chrony, postgres] });
      assert.deepEqual(host.report(30, { listeners: [ssh, chrony] }), ["30:ListenerGone:firing"]);
      const alert = [...host.alerts.values()].find((a) => a.rule === "ListenerGone")!;
      assert.deepEqual(alert.labels, { host: "web01", protocol: "tcp", address: "127.0.0.1", port: "5432", process: "postgres" });
      assert.equal(alert.annotations.summary, "tcp 127.0.0.1:5432 (postgres) no longer listens on web01");
      assert.deepEqual(host.report(40, { listeners: [ssh, chrony] }), [], "fires once");
      assert.deepEqual(host.report(50, { listeners: [ssh, chrony, postgres] }), ["50:ListenerGone:resolved"]);
    });

    test("a socket on a kernel-assigned (ephemeral) port may go without an alert", () => {
      const statd = { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 40979, pid: 800, process: "rpc.statd" };
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, statd] });
      assert.deepEqual(host.report(30, { listeners: [ssh] }), []);
    });

    test("a socket seen in fewer reports than min_reports is not missed", () => {
      const host = new Host();
      host.report(0, { listeners: [ssh] });
      host.report(10, { listeners: [ssh, postgres] });
      host.report(20, { listeners: [ssh, postgres] });
      host.report(30, { listeners: [ssh] });
      assert.deepEqual(host.transitions, []);
      const lax = new Host(rulesConfigSchema.parse({ ListenerGone: { for: "0s", min_reports: 2 } }));
      lax.report(0, { listeners: [ssh] });
      lax.report(10, { listeners: [ssh, postgres] });
      lax.report(20, { listeners: [ssh, postgres] });
      assert.deepEqual(lax.report(30, { listeners: [ssh] }), ["30:ListenerGone:firing"]);
    });

    test("by default a service restarting within a minute does not page", () => {
      const host = new Host(rulesConfigSchema.parse({}));
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, postgres] });
      for (let s = 30; s < 60; s += 10) host.report(s, { listeners: [ssh] });
      host.report(60, { listeners: [ssh, postgres] });
      assert.deepEqual(host.transitions, []);
      for (let s = 70; s < 100; s += 10) host.report(s, { listeners: [ssh, postgres] });
      for (let s = 100; s <= 170; s += 10) host.report(s, { listeners: [ssh] });
      assert.deepEqual(host.transitions, ["160:ListenerGone:firing"]);
    });

    test("after a collector restart an open alert still resolves when the port is back", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, postgres] });
      host.report(30, { listeners: [ssh] });
      host.restart();
      assert.deepEqual(host.report(40, { listeners: [ssh] }), []);
      assert.deepEqual(host.report(50, { listeners: [ssh, postgres] }), ["50:ListenerGone:resolved"]);
    });

    test("a failed listeners collector says nothing: no socket is taken for gone", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, postgres] });
      host.report(30, { listeners: [], collectors: [{ name: "listeners", success: false, durationSeconds: 0.1, error: "EACCES" }] });
      host.report(40, { listeners: [ssh, postgres] });
      assert.deepEqual(host.transitions, []);
    });

    test("disabled for a host, its open alerts resolve", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh, postgres] });
      host.report(30, { listeners: [ssh] });
      const off = new Host(rulesConfigSchema.parse({ ListenerGone: { overrides: [{ match: { host: "web01" }, enabled: false }] } }));
      Object.assign(off, { history: host.history });
      for (const [k, v] of host.alerts) off.alerts.set(k, v);
      assert.deepEqual(off.report(40, { listeners: [ssh] }), ["40:ListenerGone:resolved"]);
    });
  });

  describe("ListenerNew", () => {
    test("a new socket on a kernel-assigned (ephemeral) port is not new, as its going is not gone", () => {
      const statd = { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 40979, pid: 800, process: "rpc.statd" };
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh] });
      assert.deepEqual(host.report(30, { listeners: [ssh, statd] }), []);
      assert.deepEqual(host.report(40, { listeners: [ssh, statd, { ...statd, port: 32767 }] }, "port"), ["40:ListenerNew:firing:32767"]);
    });

    test("a new port on a known host fires; it resolves when it goes away", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh] });
      assert.deepEqual(host.report(30, { listeners: [ssh, postgres] }, "port"), ["30:ListenerNew:firing:5432"]);
      const alert = [...host.alerts.values()].find((a) => a.rule === "ListenerNew")!;
      assert.equal(alert.severity, "warning");
      assert.equal(alert.annotations.summary, "new listening socket tcp 127.0.0.1:5432 (postgres) on web01");
      assert.deepEqual(host.report(40, { listeners: [ssh, postgres] }), []);
      assert.deepEqual(host.report(50, { listeners: [ssh] }), ["50:ListenerNew:resolved"]);
    });

    test("a new port still listening after 24 h is accepted: resolved, and not new again", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh] });
      host.report(30, { listeners: [ssh, postgres] });
      host.report(30 + 86_399, { listeners: [ssh, postgres] });
      host.report(30 + 86_400, { listeners: [ssh, postgres] });
      host.report(30 + 86_410, { listeners: [ssh, postgres] });
      assert.deepEqual(host.transitions, ["30:ListenerNew:firing", "86430:ListenerNew:resolved"]);
    });

    test("ports of a host's first reports, and of a service back from a restart, are not new", () => {
      const host = new Host();
      host.report(0, { listeners: [ssh] });
      host.report(10, { listeners: [ssh, postgres] }); // known for one report only
      for (let s = 20; s < 60; s += 10) host.report(s, { listeners: [ssh, postgres] });
      host.report(60, { listeners: [ssh] });
      host.report(70, { listeners: [ssh, postgres] }); // gone for one report: not a new port
      assert.deepEqual(host.transitions.filter((t) => t.includes("ListenerNew")), []);
    });

    test("after a collector restart the host must be known again before a port is new", () => {
      const host = new Host();
      for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh] });
      host.restart();
      host.report(30, { listeners: [ssh] });
      host.report(40, { listeners: [ssh, postgres] });
      assert.deepEqual(host.transitions, []);
    });
  });

  describe("AddressChanged", () => {
    test("a changed IP on a physical interface fires naming it, and resolves after an hour", () => {
      const host = new Host();
      host.report(0, { interfaces: [eth0()] });
      assert.deepEqual(host.report(10, { interfaces: [eth0("192.0.2.99")] }, "interface"), ["10:AddressChanged:firing:eth0"]);
      const alert = [...host.alerts.values()].find((a) => a.rule === "AddressChanged")!;
      assert.deepEqual(alert.labels, { host: "web01", interface: "eth0" });
      assert.equal(alert.annotations.summary, "eth0 on web01 changed: address 192.0.2.10 → 192.0.2.99");
      host.report(3609, { interfaces: [eth0("192.0.2.99")] });
      host.report(3610, { interfaces: [eth0("192.0.2.99")] });
      host.report(3620, { interfaces: [eth0("192.0.2.99")] });
      assert.deepEqual(host.transitions, ["10:AddressChanged:firing:eth0", "3610:AddressChanged:resolved"]);
    });

    test("a changed MAC fires", () => {
      const host = new Host();
      host.report(0, { interfaces: [eth0()] });
      assert.deepEqual(host.report(10, { interfaces: [eth0(undefined, "52:54:00:AA:BB:CC")] }), ["10:AddressChanged:firing"]);
      assert.match([...host.alerts.values()][0]!.annotations.summary!, /MAC 52:54:00:12:34:56 → 52:54:00:aa:bb:cc/);
    });

    test("virtual interfaces, link-local addresses, an interface down or without an address yet are not changes", () => {
      const host = new Host();
      const docker = (address: string) => ({ name: "docker0", mac: "02:42:00:00:00:01", addresses: [{ address, prefixLength: 16 }], up: true, virtual: true });
      host.report(0, { interfaces: [eth0(), docker("172.17.0.1")] });
      host.report(10, { interfaces: [eth0(), docker("172.18.0.1")] });
      host.report(20, { interfaces: [{ ...eth0(), addresses: [{ address: "192.0.2.10", prefixLength: 24 }, { address: "fe80::1", prefixLength: 64 }] }] });
      host.report(30, { interfaces: [{ ...eth0("198.51.100.1"), up: false }] });
      host.report(40, { interfaces: [{ ...eth0(), addresses: [] }] });
      host.report(50, { interfaces: [eth0()] });
      assert.deepEqual(host.transitions, []);
    });

    test("a host's first report is not compared with anything", () => {
      const host = new Host();
      host.report(0, { interfaces: [eth0()] });
      host.restart();
      host.report(10, { interfaces: [eth0("192.0.2.99")] });
      assert.deepEqual(host.transitions, []);
    });
  });

  test("every change rule can be disabled", () => {
    const off = rulesConfigSchema.parse(Object.fromEntries(["HostRebooted", "ListenerGone", "ListenerNew", "AddressChanged"].map((r) => [r, { enabled: false }])));
    const host = new Host(off);
    for (let s = 0; s < 30; s += 10) host.report(s, { listeners: [ssh], interfaces: [eth0()] });
    host.report(30, { bootId: "new-boot", os: { uptimeSeconds: 5 }, listeners: [postgres], interfaces: [eth0("192.0.2.99")] });
    assert.deepEqual(host.transitions, []);
  });

  test("min_reports is refused on a rule that has no use for it", () => {
    assert.throws(() => rulesConfigSchema.parse({ HostCpuBusy: { min_reports: 3 } }), /min_reports applies only to ListenerGone and ListenerNew/);
    assert.throws(() => rulesConfigSchema.parse({ ListenerGone: { min_reports: 0 } }));
  });

  test("a late or repeated report changes nothing", () => {
    const host = new Host();
    host.report(10);
    const before = host.history;
    const late = judgeChanges({ host: "web01", report: sampleReport({ collectedAt: new Date(t0), bootId: BOOT }), previous: before, open: [], now: new Date(t0) }, instant);
    assert.deepEqual(late.observations, []);
    assert.equal(late.history, before);
  });

  describe("bounded memory: what an agent names cannot grow the collector's history", () => {
    test("interfaces missing from a report are forgotten, down or virtual ones present keep what was known", () => {
      const churn = Array.from({ length: 500 }, (_, i) => ({ ...eth0(`10.0.${i >> 8}.${i & 255}`), name: `x${i}` }));
      const first = trackInterfaces(undefined, [eth0(), ...churn]);
      assert.equal(first.size, 501);
      const next = trackInterfaces(first, [{ ...eth0(), up: false }]);
      assert.deepEqual([...next.keys()], ["eth0"]);
      assert.deepEqual(next.get("eth0"), first.get("eth0"));
    });

    test("an interface gone from one report and back is not taken for a changed address", () => {
      const host = new Host();
      host.report(0, { interfaces: [eth0()] });
      host.report(10, { interfaces: [] });
      host.report(20, { interfaces: [eth0("192.0.2.99")] });
      assert.deepEqual(host.transitions, []);
    });

    test("gone sockets are dropped after LISTENER_MEMORY_SECONDS", () => {
      const at = t0 / 1000;
      const first = trackListeners(undefined, [ssh, postgres], at);
      const later = trackListeners(first, [ssh], at + LISTENER_MEMORY_SECONDS - 1);
      assert.equal(later.get("tcp 127.0.0.1 5432")?.streak, 0, "remembered while within the span");
      assert.deepEqual([...trackListeners(later, [ssh], at + LISTENER_MEMORY_SECONDS).keys()], ["tcp 0.0.0.0 22"]);
    });

    test("an agent inventing new sockets every report is held to one report's worth, the newest kept", () => {
      const sockets = (round: number) => Array.from({ length: MAX_LISTENER_TRACKS }, (_, i) => ({ ...ssh, address: `10.${round}.${i >> 8}.${i & 255}` }));
      let tracks = trackListeners(undefined, sockets(0), 1000);
      tracks = trackListeners(tracks, sockets(1), 1010);
      tracks = trackListeners(tracks, sockets(2).slice(0, 100), 1020);
      assert.equal(tracks.size, MAX_LISTENER_TRACKS);
      assert.equal([...tracks.values()].filter((t) => t.streak > 0).length, 100);
      assert.ok([...tracks.values()].every((t) => t.lastSeen >= 1010), "the gone sockets kept are the most recently seen");
    });
  });
});
