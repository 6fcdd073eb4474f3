// Runs each check on its own interval, apart from the report cycle (a check may
// take its whole timeout), and keeps the latest result of each for the next
// report. The set changes when the collector sends other checks (remote.ts):
// a new check runs at once, a removed one is forgotten.
import type { Logger } from "pino";
import type { CheckResult } from "../../../proto/gen/netmap/v1/report.ts";
import type { CheckConfig } from "../../../proto/src/check-config.ts";
import { runCheck } from "./probe.ts";

export interface CheckRunner {
  /** The latest result of each check that has run once, in configuration order. */
  results(): CheckResult[];
  /** Runs every check now and waits for them: the first report, and --once, carry results. */
  runAll(): Promise<void>;
  /** Runs each check every interval until stop(). */
  start(): void;
  /** Runs these checks from now on, the changed and new ones at once; waits for their first run. */
  update(checks: readonly CheckConfig[]): Promise<void>;
  stop(): void;
}

export function createCheckRunner(initial: readonly CheckConfig[], log: Logger): CheckRunner {
  let checks = initial;
  let started = false;
  const latest = new Map<string, CheckResult>();
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<string>();

  const run = async (check: CheckConfig) => {
    // A check still running when its next turn comes (a timeout as long as the interval) is not started twice.
    if (running.has(check.name)) return;
    running.add(check.name);
    try {
      const result = await runCheck(check);
      // Removed or replaced while it ran: its result is not this check's.
      if (!checks.includes(check)) return;
      const previous = latest.get(check.name);
      if (!result.success && previous?.success !== false) log.warn({ check: check.name, target: result.target, error: result.error }, "check failed");
      if (result.success && previous?.success === false) log.info({ check: check.name, target: result.target }, "check succeeds again");
      latest.set(check.name, result);
    } finally {
      running.delete(check.name);
    }
  };
  const schedule = (check: CheckConfig) => {
    const timer = setInterval(() => void run(check), check.intervalSeconds * 1000);
    timer.unref();
    timers.set(check.name, timer);
  };
  const unschedule = (name: string) => {
    clearInterval(timers.get(name));
    timers.delete(name);
  };

  return {
    results: () => checks.flatMap((c) => latest.get(c.name) ?? []),
    runAll: async () => {
      await Promise.all(checks.map(run));
    },
    start: () => {
      started = true;
      for (const check of checks) schedule(check);
    },
    update: async (next) => {
      const same = (a: CheckConfig, b: CheckConfig) => JSON.stringify(a) === JSON.stringify(b);
      // An unchanged check keeps its object, its schedule and its latest result.
      const kept = next.map((c) => checks.find((old) => old.name === c.name && same(old, c)) ?? c);
      const fresh = kept.filter((c) => !checks.includes(c));
      for (const old of checks) {
        if (kept.includes(old)) continue;
        unschedule(old.name);
        latest.delete(old.name);
      }
      checks = kept;
      if (started) for (const check of fresh) schedule(check);
      await Promise.all(fresh.map(run));
    },
    stop: () => {
      started = false;
      for (const name of [...timers.keys()]) unschedule(name);
    },
  };
}
