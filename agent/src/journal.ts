// sshd's entries of the systemd journal, for `auth_log: journal`, or `auto` on a host with no
// auth log file (journald alone, as on Fedora and Debian 12 without rsyslog): one long-lived
// `journalctl --follow --output=json` for sshd's identifiers, its lines kept until the next
// cycle reads them. The parse (journalMessages) is tested on recorded journalctl output, the
// follow live against a real systemd-journald (test/integration/agent-ssh-bruteforce.test.ts).
// See docs/agent.md.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

/** Where a running journald keeps its socket: the journal exists. */
export const JOURNAL_SOCKET = "/run/systemd/journal/socket";
/** sshd, and OpenSSH 9.8's per-session process, which logs the failures there. */
const SSHD_IDENTIFIERS = ["sshd", "sshd-session"];
/** Lines kept between two cycles: a flood beyond this is counted no further (the window is 10 min, 20 sources). */
const MAX_PENDING_LINES = 50_000;

/**
 * The MESSAGE of each sshd entry among journalctl's JSON lines. journalctl writes a field
 * that is not valid UTF-8 as an array of byte values; a line that is not an entry is skipped.
 */
export function journalMessages(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let entry: { MESSAGE?: unknown; SYSLOG_IDENTIFIER?: unknown; _COMM?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== "object" || entry === null) continue;
    const from = [entry.SYSLOG_IDENTIFIER, entry._COMM].some((name) => typeof name === "string" && SSHD_IDENTIFIERS.includes(name));
    if (!from) continue;
    const message = entry.MESSAGE;
    if (typeof message === "string") out.push(message);
    else if (Array.isArray(message) && message.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) out.push(Buffer.from(message as number[]).toString("utf8"));
  }
  return out;
}

export interface JournalFollower {
  /** The lines journalctl wrote since the last call. */
  take(): string[];
  stop(): void;
}

/** Whether this host has a journal to follow. */
export function haveJournal(): boolean {
  return existsSync(JOURNAL_SOCKET);
}

/** Follows sshd's new journal entries (none from before the agent started). */
export function followJournal(onExit: (why: string) => void): JournalFollower {
  let pending: string[] = [];
  let partial = "";
  const args = ["--follow", "--output=json", "--lines=0", "--no-pager", ...SSHD_IDENTIFIERS.map((id) => `SYSLOG_IDENTIFIER=${id}`)];
  const child: ChildProcess = spawn("journalctl", args, { stdio: ["ignore", "pipe", "ignore"] });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    if (pending.length < MAX_PENDING_LINES) pending.push(...lines.slice(0, MAX_PENDING_LINES - pending.length));
  });
  child.once("error", (error) => onExit(`journalctl: ${error.message}`));
  child.once("exit", (code, signal) => onExit(`journalctl exited (${signal ?? code})`));
  child.unref();
  return {
    take: () => {
      const lines = pending;
      pending = [];
      return lines;
    },
    stop: () => {
      child.removeAllListeners("exit");
      child.kill();
    },
  };
}
