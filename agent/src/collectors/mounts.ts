import type { Mount } from "../../../proto/gen/netmap/v1/report.ts";
import type { MountEntry } from "../procfs.ts";
import type { FsStats } from "../source.ts";
import type { Collector } from "./types.ts";

// node_exporter's filesystem collector defaults (--collector.filesystem.fs-types-exclude
// and mount-points-exclude): kernel and pseudo filesystems, read-only images and
// container layers are not storage anyone runs out of.
export const EXCLUDED_FS_TYPES =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$/;
export const EXCLUDED_MOUNT_POINTS = /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;

/** statfs on a dead NFS server blocks; give up on that mount rather than on the cycle. */
const STATFS_TIMEOUT_MS = 5000;

export const mountsCollector: Collector = {
  name: "mounts",
  async collect(source, _state, { log }) {
    const entries = selectMounts(await source.mounts());
    const mounts: Mount[] = [];
    const results = await Promise.allSettled(entries.map((entry) => withTimeout(source.fsStats(entry.mountpoint), STATFS_TIMEOUT_MS)));
    results.forEach((result, i) => {
      const entry = entries[i]!;
      if (result.status === "fulfilled") mounts.push(mountInfo(entry, result.value));
      else log.debug({ mountpoint: entry.mountpoint, err: String(result.reason) }, "statfs failed; mount left out");
    });
    return { mounts };
  },
};

/** Real filesystems only, one entry per mount point: the last mounted one, which is the one visible there. */
export function selectMounts(entries: MountEntry[]): MountEntry[] {
  const byMountpoint = new Map<string, MountEntry>();
  for (const entry of entries) {
    if (EXCLUDED_FS_TYPES.test(entry.fsType) || EXCLUDED_MOUNT_POINTS.test(entry.mountpoint)) continue;
    byMountpoint.delete(entry.mountpoint);
    byMountpoint.set(entry.mountpoint, entry);
  }
  return [...byMountpoint.values()];
}

/** As df: used is what is not free, available what an unprivileged user may still write. */
export function mountInfo(entry: MountEntry, stats: FsStats): Mount {
  return {
    mountpoint: entry.mountpoint,
    device: entry.device,
    fsType: entry.fsType,
    sizeBytes: stats.blocks * stats.blockSize,
    usedBytes: (stats.blocks - stats.blocksFree) * stats.blockSize,
    availableBytes: stats.blocksAvailable * stats.blockSize,
    inodesTotal: stats.files,
    inodesUsed: Math.max(0, stats.files - stats.filesFree),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
