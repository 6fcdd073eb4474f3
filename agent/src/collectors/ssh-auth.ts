import { existsSync } from "node:fs";
import { AUTO_AUTH_LOGS, openAuthLog, parseFailures, readAppended, recordFailures, topSources, type AuthLogState } from "../auth-log.ts";
import { monotonicMs } from "../clock.ts";
import { fail2banReader, type Fail2banReader } from "../fail2ban.ts";
import { followJournal, haveJournal, journalMessages } from "../journal.ts";
import type { Collector } from "./types.ts";

/** Where sshd's lines come from: the auth log file, or the journal. */
interface LineSource {
  name: string;
  lines(): string[];
}

/**
 * Failed SSH authentications per source address over the window (`auth_log_window`, 10 min),
 * from the auth log (`auth_log:` in agent.yaml): a path, `journal`, or `auto` for the first of
 * AUTO_AUTH_LOGS there is, else the journal when the host has one; and, when fail2ban runs,
 * its jails (fail2ban.ts).
 */
export function sshAuthCollector(setting: string, windowSeconds: number, fail2ban: Fail2banReader = fail2banReader()): Collector {
  let source: LineSource | undefined;
  const window: Pick<AuthLogState, "sources"> = { sources: new Map() };
  return {
    name: "ssh_auth",
    async collect(_source, _agentState, { log }) {
      const now = monotonicMs() / 1000;
      if (!source) {
        const path = setting === "auto" ? (AUTO_AUTH_LOGS.find((p) => existsSync(p)) ?? (haveJournal() ? "journal" : undefined)) : setting;
        if (path === undefined) {
          log.debug({ looked: AUTO_AUTH_LOGS }, "no auth log and no journal to read");
          return {};
        }
        if (path === "journal") {
          const journal = followJournal((why) => {
            log.warn({ why }, "stopped following the journal; following it again next cycle");
            source = undefined;
          });
          source = { name: "journal", lines: () => journalMessages(journal.take()) };
        } else {
          const state = openAuthLog(path);
          source = { name: path, lines: () => readAppended(state) };
        }
        await fail2ban.refresh(now);
      }
      recordFailures(window, parseFailures(source.lines()), now, windowSeconds);
      return { sshAuth: { log: source.name, windowSeconds, ...topSources(window), fail2banJails: fail2ban.jails(now) } };
    },
  };
}
