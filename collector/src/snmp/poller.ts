// The SNMP poll of every `snmp:` entry, each on its own interval, started by `netmap serve` and
// run by the holder of the snmp-poll lease only. A sweep never overlaps the previous one of its
// entry; each device's poll is stored (its own transaction) and judged as it comes in.
import type { Logger } from "pino";
import { startPeriodic } from "../cluster/periodic.ts";
import type { Db } from "../db/database.ts";
import type { SnmpTargetConfig } from "./config.ts";
import { sweep, type DevicePoll } from "./poll.ts";
import { storeDevicePoll, type StoredDevice } from "./store.ts";

export interface SnmpSweep {
  entry: string;
  polls: DevicePoll[];
  stored: StoredDevice[];
  durationMs: number;
}

export interface SnmpPoller {
  /** One sweep of every entry now (tests, and the first sweep at start). */
  runOnce(): Promise<SnmpSweep[]>;
  stop(): Promise<void>;
}

export function startSnmpPoller(options: {
  entries: readonly SnmpTargetConfig[];
  db: Db;
  log: Logger;
  /** false: no timers, sweeps only through runOnce(). */
  schedule?: boolean;
  /** Called with each device once stored (the alert rules). */
  onStored?: (device: StoredDevice) => void;
  isPoller?: () => boolean;
}): SnmpPoller {
  const { db, log } = options;
  const pollers = options.entries.map((entry) => {
    const entryLog = log.child({ snmp: entry.name });
    /** The devices whose failure was logged, so a device that stays down is logged once. */
    const failing = new Set<string>();

    const cycle = async (): Promise<SnmpSweep> => {
      const started = performance.now();
      const stored: StoredDevice[] = [];
      const writes: Promise<void>[] = [];
      const polls = await sweep(entry, (poll) => {
        writes.push(
          (async () => {
            const device = await storeDevicePoll(db, entry, poll, new Date());
            if (device) {
              stored.push(device);
              options.onStored?.(device);
            }
            if (!poll.ok && device && !failing.has(poll.address)) entryLog.warn({ address: poll.address, code: poll.error.code }, poll.error.message);
            if (poll.ok && failing.has(poll.address)) entryLog.info({ address: poll.address }, "device answers again");
            if (!poll.ok && device) failing.add(poll.address);
            else failing.delete(poll.address);
          })().catch((error: unknown) => entryLog.error({ err: error, address: poll.address }, "cannot store the device's poll")),
        );
      });
      await Promise.all(writes);
      const durationMs = performance.now() - started;
      entryLog.debug({ addresses: polls.length, answered: polls.filter((p) => p.ok).length, durationMs }, "sweep");
      return { entry: entry.name, polls, stored, durationMs };
    };
    return startPeriodic({ run: cycle, intervalSeconds: entry.intervalSeconds, log: entryLog, failure: "sweep failed", schedule: options.schedule, isHolder: options.isPoller });
  });
  return {
    runOnce: () => Promise.all(pollers.map((p) => p.runOnce())),
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    },
  };
}
