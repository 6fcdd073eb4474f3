// Work that must happen once however many collectors run (a Proxmox poll, the absence check,
// housekeeping) is done by the holder of a lease: a PostgreSQL session-level advisory lock,
// held on a connection of its own. PostgreSQL frees it the moment that session ends, so when
// a holder dies another collector takes the lease at its next check:
//   - a process killed: its socket closes, the lock is free at once → taken within checkEvery;
//   - a machine gone silent: the server's TCP keepalive (set per session below) ends the
//     session within KEEPALIVE_BOUND_SECONDS → taken within that plus checkEvery;
//   - the holder cut from PostgreSQL: its own check times out and it stops believing it holds.
import pg from "pg";
import type { Logger } from "pino";

/** Every lease a collector may hold; one name per kind of once-only work. */
export type LeaseName = "proxmox-poll" | "absence-check" | "housekeeping" | "snmp-poll" | "alert-outbox";

export interface LeaseOptions {
  databaseUrl: string;
  names: readonly LeaseName[];
  log: Logger;
  /** How often a lease not held is tried, and one held is confirmed (ms). */
  checkEveryMs?: number;
  /** Told when this collector takes or loses a lease. */
  onChange?: (name: LeaseName, held: boolean) => void;
}

export interface Leases {
  /** Settles after the first attempt to take the leases (a lone collector holds them all then). */
  readonly ready: Promise<void>;
  /** Whether this collector holds the lease now. */
  holds(name: LeaseName): boolean;
  /** Releases every lease (another collector takes them at its next check). */
  stop(): Promise<void>;
}

export const DEFAULT_CHECK_EVERY_MS = 2000;
// idle 5 s, then 3 probes 2 s apart: a silent peer's session ends after about 11 s.
const KEEPALIVE = { idle: 5, interval: 2, count: 3 };
export const KEEPALIVE_BOUND_SECONDS = KEEPALIVE.idle + KEEPALIVE.interval * KEEPALIVE.count;

export function startLeases(options: LeaseOptions): Leases {
  const checkEveryMs = options.checkEveryMs ?? DEFAULT_CHECK_EVERY_MS;
  const held = new Set<LeaseName>();
  let client: pg.Client | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const change = (name: LeaseName, now: boolean) => {
    if (now === held.has(name)) return;
    if (now) held.add(name);
    else held.delete(name);
    const why = now ? "holding the lease: this collector does this work" : stopped ? "lease released: this collector is stopping" : "lease lost: another collector does this work";
    options.log.info({ lease: name }, why);
    options.onChange?.(name, now);
  };

  const drop = async (reason: unknown) => {
    for (const name of [...held]) change(name, false);
    const lost = client;
    client = undefined;
    if (reason) options.log.warn({ err: reason }, "lease connection lost; retrying");
    await lost?.end().catch(() => {});
  };

  const connect = async (): Promise<pg.Client> => {
    // A query that does not answer within checkEvery means PostgreSQL is out of reach: the leases go.
    const fresh = new pg.Client({ connectionString: options.databaseUrl, keepAlive: true, query_timeout: checkEveryMs, connectionTimeoutMillis: checkEveryMs });
    fresh.on("error", (error) => void drop(error));
    await fresh.connect();
    await fresh.query(
      `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false), set_config('tcp_keepalives_count', $3, false),
              set_config('application_name', 'netmap-lease', false)`,
      [String(KEEPALIVE.idle), String(KEEPALIVE.interval), String(KEEPALIVE.count)],
    );
    return fresh;
  };

  const check = async () => {
    try {
      client ??= await connect();
      // A session-level lock lasts as long as its session: one that still answers still holds its leases.
      if (held.size) await client.query("SELECT 1");
      for (const name of options.names.filter((n) => !held.has(n))) {
        // hashtextextended: a lease name as the 64-bit key advisory locks take.
        const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [name]);
        change(name, rows[0]!.ok);
      }
    } catch (error) {
      await drop(error);
    }
  };

  const timer = setInterval(() => {
    if (!stopped) running = running.then(check);
  }, checkEveryMs);
  timer.unref();
  running = check();

  return {
    ready: running,
    holds: (name) => held.has(name),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      await drop(undefined);
    },
  };
}
