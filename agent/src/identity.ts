// Who is reporting: the agent id, this boot, and the report sequence.
import { readFileSync } from "node:fs";
import { IdentityError } from "./errors.ts";
import { hmacSha256 } from "./sha256.ts";

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
  const encode = (text: string) => new TextEncoder().encode(text);
  return Buffer.from(hmacSha256(encode(id), encode("netmap-agent"))).toString("hex").slice(0, 16);
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

/**
 * Report sequence numbers, unique per (agent, boot) across agent restarts,
 * with no state on disk.
 *
 * A restarted agent must never reuse a seq of the same boot, or JetStream's
 * de-duplication and the collector's (agent, boot, seq) key would silently
 * drop its reports as repeats. A counter saved in a file fails exactly when it
 * matters: a wiped or new state directory, a re-created container (containers
 * share the host kernel's boot id). So each process starts its sequence at the
 * milliseconds since boot (CLOCK_BOOTTIME, monotonic) and counts up by one per
 * report. Reports are at least 100 ms apart, so a process starting later
 * always starts above every seq an earlier one of the same boot could have
 * reached. Within a process seq goes up by exactly 1; across a restart it jumps.
 */
export function sequenceFrom(uptimeSeconds: number): () => number {
  let seq = Math.floor(uptimeSeconds * 1000);
  return () => ++seq;
}
