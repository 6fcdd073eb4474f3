// Container truth: the cgroup limits read from recorded /sys/fs/cgroup trees
// (an LXC container on cgroup v2, a Docker container on v1, a v1 host).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cgroupLimits, countCpus } from "../../../agent/src/cgroup.ts";
import { cpuLimit } from "../../../agent/src/collectors/cpu.ts";
import { memoryInfo } from "../../../agent/src/collectors/memory.ts";
import { createLinuxSource } from "../../../agent/src/source.ts";

const sys = (name: string) => new URL(`../../fixtures/agent/${name}`, import.meta.url).pathname;
const GiB = 1024 ** 3;
const meminfo = { MemTotal: 24 * 1024 * 1024, MemAvailable: 20 * 1024 * 1024, SwapTotal: 0, SwapFree: 0 };

describe("agent cgroup limits", () => {
  it("cgroup - reads an LXC container's memory.max, working set, cpu.max and cpuset on v2", async () => {
    const limits = await createLinuxSource({ sys: sys("sys-cgroup-v2-lxc") }).cgroup();
    assert.deepEqual(limits, { memoryLimitBytes: 2 * GiB, memoryWorkingSetBytes: GiB - 273741824, cpuLimitCores: 1.5, cpuUsageSeconds: 5 });
  });

  it("cgroup - reads a Docker container's limits on v1, the cpuset standing in for a missing quota", async () => {
    const limits = await createLinuxSource({ sys: sys("sys-cgroup-v1-docker") }).cgroup();
    assert.deepEqual(limits, { memoryLimitBytes: 512 * 1024 ** 2, memoryWorkingSetBytes: 250_000_000, cpuLimitCores: 2, cpuUsageSeconds: 7 });
  });

  it("cgroup - finds no limit on a v1 host whose root says unlimited, nor without a cgroup filesystem", async () => {
    assert.deepEqual(await createLinuxSource({ sys: sys("sys-cgroup-v1-host") }).cgroup(), {});
    assert.deepEqual(await createLinuxSource({ sys: sys("nowhere") }).cgroup(), {});
    assert.deepEqual(cgroupLimits({ version: 2, memoryMax: "max\n", cpuMax: "max 100000\n" }), {});
  });

  it("memoryInfo - shows the container's limit and working set beside the machine's total", () => {
    const memory = memoryInfo(meminfo, { memoryLimitBytes: 2 * GiB, memoryWorkingSetBytes: GiB });
    assert.equal(memory.totalBytes, 24 * GiB);
    assert.equal(memory.limitBytes, 2 * GiB);
    assert.equal(memory.limitUsedBytes, GiB);
    assert.equal(memoryInfo(meminfo, { memoryLimitBytes: 64 * GiB }).limitBytes, undefined, "a limit above MemTotal limits nothing");
  });

  it("cpuLimit - gives the limit in cores and its usage from the second cycle on", () => {
    assert.deepEqual(cpuLimit({ cpuLimitCores: 1.5, cpuUsageSeconds: 5 }, 4, undefined, 100), { limitCores: 1.5 });
    assert.deepEqual(cpuLimit({ cpuLimitCores: 1.5, cpuUsageSeconds: 8 }, 4, { usageSeconds: 5, atSeconds: 90 }, 100), { limitCores: 1.5, limitUsagePercent: 20 });
    assert.deepEqual(cpuLimit({ cpuLimitCores: 4 }, 4, undefined, 0), {}, "the whole machine is no limit");
  });

  it("countCpus - counts a cpuset list", () => {
    assert.deepEqual(["0", "0-3", "0-1,4,6-7"].map(countCpus), [1, 4, 5]);
  });
});
