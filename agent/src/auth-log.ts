// The auth log, read as it grows: each cycle reads what sshd appended since
// the last (at most READ_LIMIT bytes), from the end of the file at start, and
// from the start of a new file after rotation. Failed authentications are
// counted per source address over a sliding window. Read (readAppended) apart
// from parse (parseFailures), which tests feed with recorded lines.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { isIP } from "node:net";

/** Where `auth_log: auto` looks, Debian's first, then Red Hat's. */
export const AUTO_AUTH_LOGS = ["/var/log/auth.log", "/var/log/secure"];
export const TOP_SOURCES = 20;
/** A burst of log beyond this per cycle is read over the next cycles. */
const READ_LIMIT = 1024 * 1024;
/** Sources remembered at once: a spoofed flood of addresses cannot grow the agent without bound. */
const MAX_SOURCES = 4096;

export interface AuthFailure {
  address: string;
  user: string;
}

// sshd: "Failed password for root from 192.0.2.7 port 51234 ssh2",
// "Failed publickey for invalid user bob from 2001:db8::7 port 22 ssh2: ED25519 SHA256:…".
const FAILED = /\bFailed \S+ for (?:invalid user )?(.*?) from ([0-9A-Fa-f:.]+) port \d+/;

/** The failed authentications in complete log lines, in order. */
export function parseFailures(lines: readonly string[]): AuthFailure[] {
  const out: AuthFailure[] = [];
  for (const line of lines) {
    const match = FAILED.exec(line);
    if (match && isIP(match[2]!) !== 0) out.push({ address: match[2]!.toLowerCase(), user: match[1]! });
  }
  return out;
}

export interface AuthLogState {
  path: string;
  inode: number;
  offset: number;
  /** The end of the last read that was not yet a whole line. */
  partial: string;
  /** Per address: when each failure in the window was read (seconds), and the user last tried. */
  sources: Map<string, { at: number[]; lastUser: string }>;
}

/** Starts reading `path` from its current end: what was logged before the agent started is not counted. */
export function openAuthLog(path: string): AuthLogState {
  const stat = statSync(path);
  return { path, inode: stat.ino, offset: stat.size, partial: "", sources: new Map() };
}

/** The complete lines appended since the last call; follows a rotation or truncation to the new file's start. */
export function readAppended(state: AuthLogState): string[] {
  const fd = openSync(state.path, "r");
  try {
    const stat = fstatSync(fd);
    if (stat.ino !== state.inode || stat.size < state.offset) Object.assign(state, { inode: stat.ino, offset: 0, partial: "" });
    const length = Math.min(stat.size - state.offset, READ_LIMIT);
    if (length <= 0) return [];
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, state.offset);
    state.offset += read;
    const lines = (state.partial + buffer.toString("utf8", 0, read)).split("\n");
    state.partial = lines.pop() ?? "";
    return lines;
  } finally {
    closeSync(fd);
  }
}

/** Adds failures read at `now` (seconds) and forgets those older than the window. */
export function recordFailures(state: Pick<AuthLogState, "sources">, failures: readonly AuthFailure[], now: number, windowSeconds: number): void {
  for (const { address, user } of failures) {
    let source = state.sources.get(address);
    if (!source) {
      if (state.sources.size >= MAX_SOURCES) continue;
      state.sources.set(address, (source = { at: [], lastUser: user }));
    }
    source.at.push(now);
    source.lastUser = user;
  }
  for (const [address, source] of state.sources) {
    const kept = source.at.filter((t) => t > now - windowSeconds);
    if (kept.length) source.at = kept;
    else state.sources.delete(address);
  }
}

/** The sources with the most failures in the window, most first (then by address), and the total. */
export function topSources(state: Pick<AuthLogState, "sources">): { failures: number; sources: Array<{ address: string; failures: number; lastUser: string }> } {
  const all = [...state.sources].map(([address, s]) => ({ address, failures: s.at.length, lastUser: s.lastUser }));
  all.sort((a, b) => b.failures - a.failures || (a.address < b.address ? -1 : 1));
  return { failures: all.reduce((sum, s) => sum + s.failures, 0), sources: all.slice(0, TOP_SOURCES) };
}
