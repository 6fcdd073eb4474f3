// One poll of one device (its scalars, then its tables, one request at a time, within a
// deadline), and a sweep of an `snmp:` entry's targets with at most `concurrency` devices at once.
import { SnmpError } from "../errors.ts";
import type { SnmpTargetConfig } from "./config.ts";
import { parseDevice, SCALARS, WALKED, type DeviceSnapshot } from "./parse.ts";
import { SnmpSession, type RawVarbind } from "./session.ts";
import { expandTargets } from "./targets.ts";

export type DevicePoll =
  | { address: string; ok: true; snapshot: DeviceSnapshot; durationMs: number; varbinds: number; responses: number }
  | { address: string; ok: false; error: SnmpError; durationMs: number };

export async function pollDevice(entry: SnmpTargetConfig, address: string): Promise<DevicePoll> {
  const started = performance.now();
  const label = `${entry.name}/${address}`;
  const session = new SnmpSession({
    address, port: entry.port, credentials: entry.credentials, label,
    timeoutMs: entry.timeoutSeconds * 1000, retries: entry.retries, maxVarbinds: entry.maxVarbinds,
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SnmpError("SNMP_DEADLINE", `snmp ${label}: the poll took longer than ${entry.deviceDeadlineSeconds}s and was stopped`)), entry.deviceDeadlineSeconds * 1000);
  });
  const work = async () => {
    const scalars = await session.get([...SCALARS]);
    const tables: RawVarbind[] = [];
    for (const oid of WALKED) tables.push(...(await session.walk(oid)));
    return { snapshot: parseDevice(scalars, tables), varbinds: scalars.length + tables.length };
  };
  try {
    const { snapshot, varbinds } = await Promise.race([work(), deadline]);
    return { address, ok: true, snapshot, varbinds, responses: session.responses, durationMs: performance.now() - started };
  } catch (error) {
    const failure = error instanceof SnmpError ? error : new SnmpError("SNMP_BAD_RESPONSE", `snmp ${label}: ${(error as Error).message}`);
    return { address, ok: false, error: failure, durationMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

/** Polls every address of the entry's targets, `concurrency` at a time; each result is handed on as it comes. */
export async function sweep(entry: SnmpTargetConfig, onDevice?: (poll: DevicePoll) => void, addresses: readonly string[] = expandTargets(entry.targets)): Promise<DevicePoll[]> {
  const out: DevicePoll[] = [];
  let next = 0;
  const worker = async () => {
    while (next < addresses.length) {
      const poll = await pollDevice(entry, addresses[next++]!);
      out.push(poll);
      onDevice?.(poll);
    }
  };
  await Promise.all(Array.from({ length: Math.min(entry.concurrency, addresses.length) }, worker));
  return out;
}
