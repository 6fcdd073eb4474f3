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

/**
 * statfs on a dead NFS server blocks, and each blocked call holds one of
 * libuv's four threads until the server answers. So a mount gives up after
 * STATFS_TIMEOUT_MS for this cycle, and while its call is still out it is not
 * asked again: a hung mount costs one thread, not one per cycle, and the rest
 * of the machine goes on being reported.
 */
export const STATFS_TIMEOUT_MS = 5000;

export function createMountsCollector(statfsTimeoutMs: number): Collector {
  return {
    name: "mounts",
    async collect(source, state, { log }) {
      const pending = (state.statfsPending ??= new Set());
      const mounts: Mount[] = [];
      const asked = selectMounts(await source.mounts()).filter((entry) => {
        if (!pending.has(entry.mountpoint)) return true;
        log.debug({ mountpoint: entry.mountpoint }, "statfs from an earlier cycle still unanswered; mount left out");
        return false;
      });
      const results = await Promise.allSettled(
        asked.map((entry) => {
          pending.add(entry.mountpoint);
          const call = source.fsStats(entry.mountpoint);
          call.then(() => pending.delete(entry.mountpoint), () => pending.delete(entry.mountpoint));
          return withTimeout(call, statfsTimeoutMs);
        }),
      );
      results.forEach((result, i) => {
        const entry = asked[i]!;
        if (result.status === "fulfilled") mounts.push(mountInfo(entry, result.value));
        else if (result.reason instanceof StatfsTimeout) log.warn({ mountpoint: entry.mountpoint, fsType: entry.fsType, device: entry.device }, "statfs not answered; mount left out until it answers");
        else log.debug({ mountpoint: entry.mountpoint, err: String(result.reason) }, "statfs failed; mount left out");
      });
      return { mounts };
    },
  };
}

export const mountsCollector = createMountsCollector(STATFS_TIMEOUT_MS);

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

class StatfsTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatfsTimeout(`no answer in ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
