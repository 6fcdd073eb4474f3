import { existsSync } from "node:fs";
import { AUTO_AUTH_LOGS, openAuthLog, parseFailures, readAppended, recordFailures, topSources, type AuthLogState } from "../auth-log.ts";
import { monotonicMs } from "../clock.ts";
import type { Collector } from "./types.ts";

/**
 * Failed SSH authentications per source address over the window (`auth_log_window`, 10 min),
 * from the auth log (`auth_log:` in agent.yaml): a path, or `auto` for the first of AUTO_AUTH_LOGS there is.
 */
export function sshAuthCollector(setting: string, windowSeconds: number): Collector {
  let state: AuthLogState | undefined;
  return {
    name: "ssh_auth",
    async collect(_source, _agentState, { log }) {
      if (!state) {
        const path = setting === "auto" ? AUTO_AUTH_LOGS.find((p) => existsSync(p)) : setting;
        if (path === undefined) {
          log.debug({ looked: AUTO_AUTH_LOGS }, "no auth log to read");
          return {};
        }
        state = openAuthLog(path);
      }
      recordFailures(state, parseFailures(readAppended(state)), monotonicMs() / 1000, windowSeconds);
      return { sshAuth: { log: state.path, windowSeconds, ...topSources(state) } };
    },
  };
}
