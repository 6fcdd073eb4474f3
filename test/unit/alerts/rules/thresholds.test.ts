import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { step, type Alert, type Observation } from "../../../../collector/src/alerts/engine.ts";
import { judgeReport, newHostWindow, recordWindow } from "../../../../collector/src/alerts/rules/thresholds.ts";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";
import { sampleReport } from "../../../helpers/reports.ts";

const GiB = 1024 ** 3;
const none = rulesConfigSchema.parse({});

function judge(report = sampleReport(), config = none, window = newHostWindow()): Observation[] {
  recordWindow(window, report);
  return judgeReport({ host: "web01", report, window }, config);
}

const active = (observations: Observation[]) =>
  observations.filter((o) => o.active).map((o) => `${o.rule}/${o.severity}${o.labels.mountpoint ? ` ${o.labels.mountpoint}` : ""}`).sort();

describe("built-in threshold rules", () => {
  test("a healthy host raises nothing", () => {
    assert.deepEqual(active(judge()), []);
  });

  const mount = (usedGiB: number) => ({ mountpoint: "/srv", device: "/dev/vdb", fsType: "xfs", sizeBytes: 100 * GiB, usedBytes: usedGiB * GiB, availableBytes: (100 - usedGiB) * GiB, inodesTotal: 1000, inodesUsed: 10 });

  test("a filesystem past 85% is a warning naming the mount; past 95% critical instead", () => {
    assert.deepEqual(active(judge(sampleReport({ mounts: [mount(90)] }))), ["FilesystemAlmostFull/warning /srv"]);
    assert.deepEqual(active(judge(sampleReport({ mounts: [mount(96)] }))), ["FilesystemAlmostFull/critical /srv"]);
    const summary = judge(sampleReport({ mounts: [mount(90)] })).find((o) => o.active)!.annotations.summary;
    assert.equal(summary, "/srv on web01 is 90.0% full");
  });

  test("per-mount overrides and exclusions apply", () => {
    const config = rulesConfigSchema.parse({ FilesystemAlmostFull: { overrides: [{ match: { mountpoint: "/var/backups" }, warning: 97, critical: 99 }, { match: { mountpoint: "/boot" }, enabled: false }] } });
    const full = (mountpoint: string) => ({ mountpoint, device: "d", fsType: "ext4", sizeBytes: 100, usedBytes: 96, availableBytes: 4, inodesTotal: 0, inodesUsed: 0 });
    assert.deepEqual(active(judge(sampleReport({ mounts: [full("/var/backups"), full("/boot")] }), config)), []);
  });

  test("memory available low and swap heavy", () => {
    const memory = { totalBytes: 100 * GiB, usedBytes: 96 * GiB, availableBytes: 4 * GiB, buffersCacheBytes: 0, swapTotalBytes: 10 * GiB, swapUsedBytes: 9 * GiB };
    assert.deepEqual(active(judge(sampleReport({ memory }))), ["HostMemoryLow/critical", "HostSwapHeavy/warning"]);
  });

  test("a host first seen past critical gets the critical alert only; a warning already firing stays until it clears", () => {
    const config = rulesConfigSchema.parse({ FilesystemAlmostFull: { for: "0s" } });
    const run = (alerts: Map<string, Alert>, usedGiB: number, at: number) => {
      for (const o of judge(sampleReport({ mounts: [mount(usedGiB)] }), config)) {
        const key = `${o.rule}/${o.severity}`;
        const { alert } = step(alerts.get(key), o, new Date(at));
        if (alert) alerts.set(key, alert);
        else alerts.delete(key);
      }
      return [...alerts].filter(([, a]) => a.state === "firing").map(([key]) => key).sort();
    };
    assert.deepEqual(run(new Map(), 97, 0), ["FilesystemAlmostFull/critical"]);
    const climbing = new Map<string, Alert>();
    assert.deepEqual(run(climbing, 90, 0), ["FilesystemAlmostFull/warning"]);
    assert.deepEqual(run(climbing, 97, 1000), ["FilesystemAlmostFull/critical", "FilesystemAlmostFull/warning"]);
    assert.deepEqual(run(climbing, 70, 2000), []);
  });

  test("load per core", () => {
    const cpu = { logicalCores: 2, physicalCores: 1, model: "x", usagePercent: 50, load1: 5, load5: 4.5, load15: 3 };
    assert.deepEqual(active(judge(sampleReport({ cpu }))), ["HostLoadHigh/warning"]);
  });

  test("CPU busy is judged on the 5-minute average, not one report", () => {
    const window = newHostWindow();
    const t0 = Date.parse("2026-11-23T10:00:00Z");
    let observations: Observation[] = [];
    for (let i = 0; i <= 30; i++) {
      const usagePercent = i === 30 ? 100 : 50; // one spike at the end
      observations = judge(sampleReport({ seq: i + 1, collectedAt: new Date(t0 + i * 10_000), cpu: { logicalCores: 4, usagePercent, load1: 0, load5: 0, load15: 0 } }), none, window);
    }
    assert.deepEqual(active(observations), []);
    for (let i = 31; i <= 62; i++) {
      observations = judge(sampleReport({ seq: i + 1, collectedAt: new Date(t0 + i * 10_000), cpu: { logicalCores: 4, usagePercent: 97, load1: 0, load5: 0, load15: 0 } }), none, window);
    }
    assert.deepEqual(active(observations), ["HostCpuBusy/warning"]);
  });

  test("a filesystem filling at a steady rate is predicted full and fires after its for duration", () => {
    const window = newHostWindow();
    const t0 = Date.parse("2026-11-23T00:00:00Z");
    let alert: Alert | undefined;
    const fired: string[] = [];
    // 60% full on a 100 GiB disk, growing 1 GiB/h for two hours (full in ~40 h), then 10 GiB/h.
    for (let minute = 0; minute <= 240; minute += 5) {
      const usedGiB = minute < 120 ? 60 + minute / 60 : 62 + ((minute - 120) / 60) * 10;
      const report = sampleReport({
        collectedAt: new Date(t0 + minute * 60_000),
        mounts: [{ mountpoint: "/data", device: "d", fsType: "ext4", sizeBytes: 100 * GiB, usedBytes: Math.round(usedGiB * GiB), availableBytes: Math.round((100 - usedGiB) * GiB), inodesTotal: 0, inodesUsed: 0 }],
      });
      const observation = judge(report, none, window).find((o) => o.rule === "FilesystemFillingUp" && o.severity === "warning");
      if (!observation) continue;
      const result = step(alert, observation, report.collectedAt!);
      alert = result.alert;
      if (result.transition) fired.push(`${minute}:${result.transition.to}`);
    }
    assert.equal(fired.length, 1, `fired: ${fired.join(", ")}`);
    assert.ok(Number(fired[0]!.split(":")[0]) > 120, "not while the slow growth predicts ~40 h");
    assert.match(alert!.annotations.summary!, /\/data on web01 will be full in about [\d.]+ h/);
  });

  test("the window forgets a mount point the report no longer has, unless the mounts collector failed", () => {
    const window = newHostWindow();
    const mount = (mountpoint: string) => ({ ...sampleReport().mounts[0]!, mountpoint });
    recordWindow(window, sampleReport({ mounts: Array.from({ length: 300 }, (_, i) => mount(`/m${i}`)) }));
    assert.equal(window.mountUsed.size, 300);
    recordWindow(window, sampleReport({ collectedAt: new Date(Date.now() + 10_000), mounts: [], collectors: [{ name: "mounts", success: false, durationSeconds: 5, error: "statfs hung" }] }));
    assert.equal(window.mountUsed.size, 300, "a failed collection says nothing about the mounts");
    recordWindow(window, sampleReport({ collectedAt: new Date(Date.now() + 20_000), mounts: [mount("/m7")] }));
    assert.deepEqual([...window.mountUsed.keys()], ["/m7"]);
  });
});

