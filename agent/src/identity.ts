// Who is reporting: the agent id, this boot, and the report sequence.
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { IdentityError } from "./errors.ts";

const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
const BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";

/**
 * The agent id is HMAC-SHA256(key = machine-id, "netmap-agent"), first 16 hex
 * characters (64 bits). machine-id(5) asks that the id not be sent off the
 * machine as is, and to derive an application-specific one this way (what
 * sd_id128_get_machine_app_specific does); it is stable across restarts and
 * reinstalls of the agent, changes when the machine is cloned and
 * systemd-machine-id-setup runs, and always matches [a-z0-9_-]{1,64}.
 */
export function agentIdFromMachineId(machineId: string): string {
  const id = machineId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new IdentityError(`machine id ${JSON.stringify(machineId.trim())} is not 32 hex digits`);
  return createHmac("sha256", id).update("netmap-agent").digest("hex").slice(0, 16);
}

export function readMachineId(readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): string {
  for (const path of MACHINE_ID_FILES) {
    try {
      const text = readFile(path).trim();
      if (text) return text;
    } catch {
      // try the next one
    }
  }
  throw new IdentityError(`no machine id in ${MACHINE_ID_FILES.join(" or ")}: set agent_id in the config file, NETMAP_AGENT_ID or --agent-id`);
}

export function readBootId(readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): string {
  const bootId = readFile(BOOT_ID_FILE).trim().toLowerCase();
  if (!/^[0-9a-f-]{1,64}$/.test(bootId)) throw new IdentityError(`unexpected boot id ${JSON.stringify(bootId)} in ${BOOT_ID_FILE}`);
  return bootId;
}

export interface SeqCounter {
  /** The next seq, already made durable where the counter can be. */
  next(): number;
  /** Where the counter lives: a file, or "memory" when no directory would take it. */
  readonly storage: string;
}

/**
 * Report sequence numbers, unique per (agent, boot) across agent restarts.
 *
 * seq counts from 1 in each boot. A restarted agent must not reuse a seq of
 * the same boot, or JetStream's de-duplication and the collector's
 * (agent, boot, seq) key would silently drop its reports. So the last seq
 * handed out is written (atomically: temp file + rename) to <dir>/seq.json
 * before the report carrying it is published, and a new process continues
 * from it when the boot id matches. No fsync: only a kernel crash or power
 * loss can lose a renamed file's data, and either of them means a new boot,
 * which starts again at 1 anyway.
 *
 * The directory is the spool dir (default /var/lib/netmap-agent); if it cannot
 * be written (agent run unprivileged), the user's state dir
 * ($XDG_STATE_HOME or ~/.local/state)/netmap-agent, with a warning. If neither
 * can, the counter lives in memory and starts at the milliseconds since boot
 * when the process started: a restarted process starts later than the last
 * one began plus one millisecond per report it sent (reports are at least
 * 100 ms apart), so it still never repeats a seq within the boot, at the
 * price of a jump in the sequence.
 */
export function openSeqCounter(options: { dirs: string[]; bootId: string; uptimeSeconds: number; log: Logger }): SeqCounter {
  const { bootId, log } = options;
  for (const [index, dir] of options.dirs.entries()) {
    const file = join(dir, "seq.json");
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      const last = readLastSeq(file, bootId);
      writeLastSeq(file, bootId, last); // proves the directory is writable before relying on it
      if (index > 0) log.warn({ dir, wanted: options.dirs[0] }, "state directory not writable; keeping state in a fallback directory");
      let seq = last;
      return {
        storage: file,
        next() {
          seq++;
          try {
            writeLastSeq(file, bootId, seq);
          } catch (error) {
            log.warn({ err: error, file }, "cannot save the report sequence; a restart in this boot may repeat it");
          }
          return seq;
        },
      };
    } catch (error) {
      log.debug({ err: error, dir }, "state directory unusable");
    }
  }
  let seq = Math.floor(options.uptimeSeconds * 1000);
  log.warn({ dirs: options.dirs, firstSeq: seq + 1 }, "no writable state directory; report sequence starts at the milliseconds since boot");
  return { storage: "memory", next: () => ++seq };
}

/** The fallback state directory for an unprivileged agent. */
export function userStateDir(env: Readonly<Record<string, string | undefined>>): string {
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "netmap-agent");
}

function readLastSeq(file: string, bootId: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const saved = JSON.parse(text) as { bootId?: unknown; lastSeq?: unknown };
  return saved.bootId === bootId && Number.isSafeInteger(saved.lastSeq) && (saved.lastSeq as number) > 0 ? (saved.lastSeq as number) : 0;
}

function writeLastSeq(file: string, bootId: string, lastSeq: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ bootId, lastSeq })}\n`, { mode: 0o640 });
  renameSync(temp, file);
}
