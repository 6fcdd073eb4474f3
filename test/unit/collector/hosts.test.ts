import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hostStatus } from "../../../collector/src/hosts/status.ts";
import { headline, mountUsedPercent } from "../../../collector/src/hosts/headline.ts";
import { sampleReport } from "../../helpers/reports.ts";

const thresholds = { staleAfterSeconds: 30, downAfterSeconds: 120 };

describe("host status", () => {
  test("is up, stale, then down as the last report ages", () => {
    assert.equal(hostStatus(5, 10, thresholds), "up");
    assert.equal(hostStatus(30, 10, thresholds), "up");
    assert.equal(hostStatus(31, 10, thresholds), "stale");
    assert.equal(hostStatus(121, 10, thresholds), "down");
  });

  test("gives a slow agent proportionally longer, never less than the floors", () => {
    assert.equal(hostStatus(150, 60, thresholds), "up");
    assert.equal(hostStatus(181, 60, thresholds), "stale");
    assert.equal(hostStatus(721, 60, thresholds), "down");
    assert.equal(hostStatus(25, 1, thresholds), "up");
  });

  test("a host that never reported is down", () => {
    assert.equal(hostStatus(null, null, thresholds), "down");
  });
});

describe("headline figures", () => {
  test("memory per cent, fullest mount as df counts it, the machine's own addresses", () => {
    const h = headline(sampleReport());
    assert.equal(h.cpuPercent, 12.5);
    assert.equal(h.memoryPercent, 25);
    assert.equal(h.fullestMount?.mountpoint, "/");
    assert.equal(h.fullestMount?.usedPercent, (60 / 95) * 100);
    assert.deepEqual(h.addresses, ["192.0.2.10"]);
    assert.equal(h.networkRxBytesPerSecond, 100, "virtual interfaces are left out of the sums");
    assert.equal(h.diskWriteBytesPerSecond, 2000);
  });

  test("rates absent on a first cycle stay absent, never 0", () => {
    const first = sampleReport({
      cpu: { logicalCores: 2, load1: 0, load5: 0, load15: 0 },
      disks: [{ name: "vda", sizeBytes: 1 }],
      interfaces: [{ name: "eth0", mac: "52:54:00:00:00:01", up: true, virtual: false }],
    });
    const h = headline(first);
    assert.equal(h.cpuPercent, null);
    assert.equal(h.diskReadBytesPerSecond, null);
    assert.equal(h.networkTxBytesPerSecond, null);
  });

  test("an empty filesystem has no used per cent rather than NaN", () => {
    assert.equal(mountUsedPercent({ usedBytes: 0, availableBytes: 0 }), null);
    assert.equal(mountUsedPercent({ usedBytes: 1, availableBytes: 3 }), 25);
  });
});
