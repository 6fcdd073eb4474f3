import type { Memory } from "../../../proto/gen/netmap/v1/report.ts";
import type { CgroupLimits } from "../cgroup.ts";
import type { Collector } from "./types.ts";

export const memoryCollector: Collector = {
  name: "memory",
  async collect(source) {
    const [meminfo, cgroup] = await Promise.all([source.meminfo(), source.cgroup()]);
    return { memory: memoryInfo(meminfo, cgroup) };
  },
};

/**
 * From /proc/meminfo (kB). buff/cache is Buffers + Cached + SReclaimable, as free(1) shows it.
 * Inside a container whose limit is below MemTotal, the limit and the
 * container's working set are reported beside the machine's figures.
 */
export function memoryInfo(meminfo: Record<string, number>, cgroup: CgroupLimits = {}): Memory {
  const kB = (field: string) => (meminfo[field] ?? 0) * 1024;
  const total = meminfo.MemTotal;
  if (total === undefined) throw new Error("/proc/meminfo has no MemTotal");
  // MemAvailable exists since Linux 3.14; before it, free + buffers + cache is the usual estimate.
  const available = meminfo.MemAvailable !== undefined ? kB("MemAvailable") : kB("MemFree") + kB("Buffers") + kB("Cached");
  return {
    totalBytes: kB("MemTotal"),
    usedBytes: Math.max(0, kB("MemTotal") - available),
    availableBytes: available,
    buffersCacheBytes: kB("Buffers") + kB("Cached") + kB("SReclaimable"),
    swapTotalBytes: kB("SwapTotal"),
    swapUsedBytes: Math.max(0, kB("SwapTotal") - kB("SwapFree")),
    freeBytes: kB("MemFree"),
    buffersBytes: kB("Buffers"),
    cachedBytes: kB("Cached"),
    ...(cgroup.memoryLimitBytes !== undefined && cgroup.memoryLimitBytes < kB("MemTotal") && {
      limitBytes: cgroup.memoryLimitBytes,
      ...(cgroup.memoryWorkingSetBytes !== undefined && { limitUsedBytes: cgroup.memoryWorkingSetBytes }),
    }),
  };
}
