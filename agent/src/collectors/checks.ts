import type { CheckRunner } from "../checks/runner.ts";
import type { Collector } from "./types.ts";

/** The latest synthetic check results (checks/runner.ts runs them on their own schedule). */
export function checksCollector(runner: CheckRunner): Collector {
  return {
    name: "checks",
    async collect() {
      return { checks: runner.results() };
    },
  };
}
