// Work run every interval on the collector that holds its lease (a Proxmox cluster's discovery,
// an SNMP entry's sweep): one run never overlaps the previous, a collector that does not hold
// the lease looks again every few seconds to take over, and stop() waits for a run under way.
import type { Logger } from "pino";

/** How often a collector that does not hold the lease looks whether it has become the holder. */
const LEASE_RECHECK_MS = 2000;

export interface Periodic<T> {
  /** One run now (tests, and the first at start); joins a run under way. */
  runOnce(): Promise<T>;
  /** No more runs; settles once a run under way has. */
  stop(): Promise<void>;
}

export function startPeriodic<T>(options: {
  run: () => Promise<T>;
  intervalSeconds: number;
  log: Logger;
  /** What a failed run is logged as ("discovery cycle failed"). */
  failure: string;
  /** false: no timers, runs only through runOnce(). */
  schedule?: boolean;
  /** Whether this collector holds the work's lease now; absent: always. */
  isHolder?: () => boolean;
}): Periodic<T> {
  let running: Promise<T> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runOnce = () => {
    running ??= options.run().finally(() => (running = undefined));
    return running;
  };
  const next = (ms: number) => {
    if (!stopped && options.schedule !== false) timer = setTimeout(tick, ms);
  };
  const tick = () => {
    if (stopped) return;
    if (options.isHolder && !options.isHolder()) return next(Math.min(LEASE_RECHECK_MS, options.intervalSeconds * 1000));
    runOnce()
      .catch((error: unknown) => options.log.error({ err: error }, options.failure))
      .finally(() => next(options.intervalSeconds * 1000));
  };
  if (options.schedule !== false) tick();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
