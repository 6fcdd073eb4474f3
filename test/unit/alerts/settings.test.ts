import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rulesConfigSchema, settingsFor, type RuleSettings } from "../../../collector/src/alerts/settings.ts";

const defaults: RuleSettings = { enabled: true, warning: 85, critical: 95, warningClear: 80, criticalClear: 92, forSeconds: 300 };
const config = rulesConfigSchema.parse({
  FilesystemAlmostFull: {
    warning: 90,
    overrides: [
      { match: { mountpoint: "/var/backups" }, warning: 97, critical: 99 },
      { match: { host: "web01", mountpoint: "/boot" }, enabled: false },
      { match: { client: "acme" }, for: "10m" },
      { match: { label: "role=batch" }, critical: 98 },
    ],
  },
});

describe("rule settings", () => {
  test("with no configuration the defaults apply", () => {
    assert.deepEqual(settingsFor("HostCpuBusy", defaults, config, { host: "x" }), defaults);
  });

  test("a global override changes the threshold and drops the default clear margin for it", () => {
    const s = settingsFor("FilesystemAlmostFull", defaults, config, { host: "db1", mountpoint: "/" });
    assert.equal(s.warning, 90);
    assert.equal(s.warningClear, undefined, "the rule's margin applies to a new threshold");
    assert.equal(s.critical, 95);
    assert.equal(s.criticalClear, 92);
  });

  test("per-mountpoint thresholds: backup volumes live at 95%", () => {
    const s = settingsFor("FilesystemAlmostFull", defaults, config, { host: "db1", mountpoint: "/var/backups" });
    assert.deepEqual([s.warning, s.critical], [97, 99]);
  });

  test("a rule can be disabled for one host's mount only", () => {
    assert.equal(settingsFor("FilesystemAlmostFull", defaults, config, { host: "web01", mountpoint: "/boot" }).enabled, false);
    assert.equal(settingsFor("FilesystemAlmostFull", defaults, config, { host: "web02", mountpoint: "/boot" }).enabled, true);
  });

  test("client and label overrides combine, the more specific applied last", () => {
    const s = settingsFor("FilesystemAlmostFull", defaults, config, { host: "b1", client: "acme", labels: { role: "batch" }, mountpoint: "/" });
    assert.equal(s.forSeconds, 600);
    assert.equal(s.critical, 98);
  });

  test("bad configuration is refused with the path of the setting", () => {
    const bad = rulesConfigSchema.safeParse({ HostCpuBusy: { for: "soon" } });
    assert.equal(bad.success, false);
    assert.match(JSON.stringify(bad.error?.issues), /expected a duration like 5m/);
    assert.equal(rulesConfigSchema.safeParse({ HostCpuBusy: { warnign: 1 } }).success, false);
    assert.equal(rulesConfigSchema.safeParse({ HostCpuBusy: { overrides: [{ match: { label: "nolabel" } }] } }).success, false);
  });
});
