// Runs each configured check on its own interval, apart from the report cycle
// (a check may take its whole timeout), and keeps the latest result of each
// for the next report. Started only when `checks:` lists any.
import type { Logger } from "pino";
import type { CheckResult } from "../../../proto/gen/netmap/v1/report.ts";
import { runCheck } from "./probe.ts";
import type { CheckConfig } from "./settings.ts";

export interface CheckRunner {
  /** The latest result of each check that has run once, in configuration order. */
  results(): CheckResult[];
  /** Runs every check now and waits for them: the first report, and --once, carry results. */
  runAll(): Promise<void>;
  /** Runs each check every interval until stop(). */
  start(): void;
  stop(): void;
}

export function createCheckRunner(checks: readonly CheckConfig[], log: Logger): CheckRunner {
  const latest = new Map<string, CheckResult>();
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<string>();

  const run = async (check: CheckConfig) => {
    // A check still running when its next turn comes (a timeout as long as the interval) is not started twice.
    if (running.has(check.name)) return;
    running.add(check.name);
    try {
      const result = await runCheck(check);
      const previous = latest.get(check.name);
      if (!result.success && previous?.success !== false) log.warn({ check: check.name, target: result.target, error: result.error }, "check failed");
      if (result.success && previous?.success === false) log.info({ check: check.name, target: result.target }, "check succeeds again");
      latest.set(check.name, result);
    } finally {
      running.delete(check.name);
    }
  };

  return {
    results: () => checks.flatMap((c) => latest.get(c.name) ?? []),
    runAll: async () => {
      await Promise.all(checks.map(run));
    },
    start: () => {
      for (const check of checks) {
        const timer = setInterval(() => void run(check), check.intervalSeconds * 1000);
        timer.unref();
        timers.push(timer);
      }
    },
    stop: () => {
      for (const timer of timers.splice(0)) clearInterval(timer);
    },
  };
}
