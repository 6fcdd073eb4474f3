// fail2ban's jails and their counts, when fail2ban runs on the host: `fail2ban-client status`
// lists the jails, `fail2ban-client status <jail>` gives each one's figures. fail2ban-client is
// a Python program (~0.1 s of CPU a run), so the agent asks at most once a minute, in the
// background, and reports the latest answer. Parse apart from run; the parse is fed recorded
// output in the unit tests, the whole against a real fail2ban-server in the integration test.
import { execFile } from "node:child_process";
import type { Fail2banJail } from "../../proto/gen/netmap/v1/report.ts";

export const FAIL2BAN_EVERY_SECONDS = 60;
const TIMEOUT_MS = 10_000;

/** The jail names of `fail2ban-client status`: "`- Jail list:\tsshd, nginx-http-auth". */
export function parseJailList(text: string): string[] {
  const list = /Jail list:\s*(.*)$/m.exec(text)?.[1] ?? "";
  return list.split(",").map((name) => name.trim()).filter(Boolean);
}

/** One jail's counts from `fail2ban-client status <jail>`; undefined when they are not there. */
export function parseJailStatus(name: string, text: string): Fail2banJail | undefined {
  const figure = (label: string) => {
    const value = new RegExp(`${label}:\\s*(\\d+)`).exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  };
  const [currentlyFailed, totalFailed, currentlyBanned, totalBanned] = ["Currently failed", "Total failed", "Currently banned", "Total banned"].map(figure);
  if ([currentlyFailed, totalFailed, currentlyBanned, totalBanned].some((v) => v === undefined)) return undefined;
  return { name, currentlyFailed: currentlyFailed!, totalFailed: totalFailed!, currentlyBanned: currentlyBanned!, totalBanned: totalBanned! };
}

export interface Fail2banReader {
  /** The latest answer's jails (none while fail2ban does not answer); asks again in the background when due. */
  jails(nowSeconds: number): Fail2banJail[];
  /** Asks now and waits for the answer: the first report carries it. */
  refresh(nowSeconds: number): Promise<void>;
}

/** Runs `command` (fail2ban-client) against `socket` (-s; default: fail2ban's own) every `everySeconds`. */
export function fail2banReader(options: { command?: string; socket?: string; everySeconds?: number } = {}): Fail2banReader {
  const command = options.command ?? "fail2ban-client";
  const socket = options.socket ? ["-s", options.socket] : [];
  const every = options.everySeconds ?? FAIL2BAN_EVERY_SECONDS;
  let latest: Fail2banJail[] = [];
  let askedAt = -Infinity;
  let asking: Promise<void> | undefined;

  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) => execFile(command, [...socket, ...args], { timeout: TIMEOUT_MS, encoding: "utf8" }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
  const refresh = (nowSeconds: number) => {
    askedAt = nowSeconds;
    return (asking ??= (async () => {
      try {
        const names = parseJailList(await run(["status"]));
        const jails = await Promise.all(names.map(async (name) => parseJailStatus(name, await run(["status", name]))));
        latest = jails.filter((j): j is Fail2banJail => j !== undefined);
      } catch {
        // Not installed, not running, or not ours to ask: no jails.
        latest = [];
      } finally {
        asking = undefined;
      }
    })());
  };

  return {
    jails(nowSeconds) {
      if (nowSeconds - askedAt >= every) void refresh(nowSeconds);
      return latest;
    },
    refresh,
  };
}
