import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fingerprint } from "../../../../collector/src/alerts/engine.ts";
import { RULES, ruleFamily } from "../../../../collector/src/alerts/rules/index.ts";
import { GRACE_RULES, MIN_REPORTS_RULES } from "../../../../collector/src/alerts/settings.ts";

// Alerts stored in a database are found again by name and labels, and netmap.yaml
// overrides rules by name: what is pinned here may only change with a migration of both.
const FILESYSTEM = { enabled: true, warning: 85, warningClear: 80, critical: 95, criticalClear: 92, forSeconds: 300 };
const EXPECTED = [
  ["HostCpuBusy", "threshold", { enabled: true, warning: 90, warningClear: 80, forSeconds: 600 }],
  ["HostMemoryLow", "threshold", { enabled: true, warning: 10, warningClear: 15, critical: 5, criticalClear: 8, forSeconds: 120 }],
  ["HostSwapHeavy", "threshold", { enabled: true, warning: 80, warningClear: 70, forSeconds: 600 }],
  ["HostLoadHigh", "threshold", { enabled: true, warning: 2, warningClear: 1.5, forSeconds: 900 }],
  ["FilesystemAlmostFull", "threshold", FILESYSTEM],
  ["FilesystemInodesLow", "threshold", FILESYSTEM],
  ["FilesystemFillingUp", "threshold", { enabled: true, warning: 24, warningClear: 36, forSeconds: 1800 }],
  ["CheckFailed", "threshold", { enabled: true, critical: 1, criticalClear: 0.5, forSeconds: 60 }],
  ["CertificateExpiring", "threshold", { enabled: true, warning: 14, warningClear: 15, critical: 3, criticalClear: 4, forSeconds: 0 }],
  ["SSHBruteForce", "threshold", { enabled: true, warning: 20, warningClear: 10, critical: 100, criticalClear: 50, forSeconds: 0 }],
  ["HostDown", "absence", { enabled: true, forSeconds: 30 }],
  ["HostRebooted", "change", { enabled: true, forSeconds: 0 }],
  ["ListenerGone", "change", { enabled: true, forSeconds: 60, minReports: 3 }],
  ["ListenerNew", "change", { enabled: true, forSeconds: 0, minReports: 3 }],
  ["AddressChanged", "change", { enabled: true, forSeconds: 0 }],
  ["ProxmoxNodeDown", "proxmox", { enabled: true, forSeconds: 60 }],
  ["ProxmoxGuestDown", "proxmox", { enabled: true, forSeconds: 60, graceSeconds: 1800 }],
  ["ProxmoxStorageFilling", "proxmox", FILESYSTEM],
  ["BackupMissing", "proxmox", { enabled: true, forSeconds: 26 * 3600 }],
  ["BackupTooOld", "proxmox", { enabled: true, warning: 26, warningClear: 26, forSeconds: 0 }],
  ["BackupJobFailed", "proxmox", { enabled: true, forSeconds: 0 }],
  ["SnapshotTooOld", "proxmox", { enabled: true, warning: 7, warningClear: 7, forSeconds: 0 }],
  ["ZfsPoolDegraded", "proxmox", { enabled: true, forSeconds: 0 }],
  ["ZfsPoolErrors", "proxmox", { enabled: true, forSeconds: 0 }],
  ["ReplicationFailed", "proxmox", { enabled: true, forSeconds: 0 }],
  ["HaServiceError", "proxmox", { enabled: true, forSeconds: 60 }],
  ["ClusterQuorumLost", "proxmox", { enabled: true, forSeconds: 60 }],
  ["CephHealthWarning", "proxmox", { enabled: true, forSeconds: 300 }],
  ["CephHealthError", "proxmox", { enabled: true, forSeconds: 60 }],
  ["InterfaceDown", "snmp", { enabled: true, forSeconds: 60 }],
  ["InterfaceErrors", "snmp", { enabled: true, warning: 1, warningClear: 0.1, forSeconds: 300 }],
  ["InterfaceSaturated", "snmp", { enabled: true, warning: 90, warningClear: 80, forSeconds: 300 }],
  ["DeviceUnreachable", "snmp", { enabled: true, forSeconds: 120 }],
  ["DeviceRebooted", "snmp", { enabled: true, forSeconds: 0 }],
  ["SiteUnreachable", "topology", { enabled: true, forSeconds: 30 }],
  ["ContainerDown", "container", { enabled: true, forSeconds: 30 }],
  ["ContainerRestarting", "container", { enabled: true, warning: 3, warningClear: 1, forSeconds: 0 }],
  ["ContainerUnhealthy", "container", { enabled: true, forSeconds: 60 }],
  ["Watchdog", "heartbeat", { enabled: true, forSeconds: 0 }],
  ["AgentVersionSkew", "agent", { enabled: true, forSeconds: 3600 }],
] as const;

describe("rule registry", () => {
  test("lists every built-in rule once, with its family and defaults", () => {
    assert.deepEqual(
      RULES.map((r) => [r.name, r.family, r.defaults]),
      EXPECTED.map(([name, family, defaults]) => [name, family, defaults]),
    );
  });

  test("knows the family of a rule by name, and no family for an unknown name", () => {
    assert.equal(ruleFamily("FilesystemAlmostFull"), "threshold");
    assert.equal(ruleFamily("HostDown"), "absence");
    assert.equal(ruleFamily("ListenerNew"), "change");
    assert.equal(ruleFamily("ProxmoxGuestDown"), "proxmox");
    assert.equal(ruleFamily("InterfaceDown"), "snmp");
    assert.equal(ruleFamily("NoSuchRule"), undefined);
  });

  test("the settings that only some rules take are accepted exactly for the rules whose defaults have them", () => {
    assert.deepEqual(new Set(RULES.filter((r) => r.defaults.minReports !== undefined).map((r) => r.name)), MIN_REPORTS_RULES);
    assert.deepEqual(new Set(RULES.filter((r) => r.defaults.graceSeconds !== undefined).map((r) => r.name)), GRACE_RULES);
  });

  test("fingerprints of rule, labels and severity stay those already stored", () => {
    assert.equal(fingerprint("HostDown", { host: "web01" }, "critical"), "105a3ae38054d09d");
    assert.equal(fingerprint("FilesystemAlmostFull", { host: "db1", mountpoint: "/var" }, "warning"), "df3c09a4fd0b0c32");
    assert.equal(fingerprint("ListenerGone", { host: "web01", protocol: "tcp", address: "0.0.0.0", port: "22", process: "sshd" }, "warning"), "5fa4396ff0daae0b");
    assert.equal(fingerprint("ProxmoxGuestDown", { host: "web01", cluster: "lab", node: "pve1", vmid: "100" }, "critical"), "4ab7149ba86b4a6b");
    assert.equal(fingerprint("HostDown", { host: "web01" }, "critical"), fingerprint("HostDown", { host: "web01", severity: "critical" }), "severity is a label like any other");
  });
});
