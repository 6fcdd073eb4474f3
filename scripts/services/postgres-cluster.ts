// A private PostgreSQL cluster made with initdb and run with pg_ctl, for
// machines without a running server. initdb and pg_ctl refuse to run as root,
// so as root the cluster belongs to the `postgres` user (or `nobody`).
import { appendFileSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { userInfo } from "node:os";
import pg from "pg";
import { findExecutable, isRoot, runChecked, runCommand } from "../lib/commands.ts";
import { sleep } from "../lib/net.ts";
import type { Service } from "./service.ts";
import { tail } from "./nats.ts";

/** Where Debian and Ubuntu put each PostgreSQL version's programs; not on PATH. */
export const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";

/**
 * A directory holding both initdb and pg_ctl: from PATH first, then the newest
 * /usr/lib/postgresql/<version>/bin. Undefined when PostgreSQL is not installed.
 */
export function findPostgresBinDir(options: { pathVariable?: string; debianRoot?: string } = {}): string | undefined {
  const initdb = findExecutable("initdb", [], options.pathVariable ?? process.env.PATH ?? "");
  if (initdb && findExecutable("pg_ctl", [dirname(initdb)], "")) return dirname(initdb);
  const root = options.debianRoot ?? DEBIAN_POSTGRES_ROOT;
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, "bin");
    if (findExecutable("initdb", [bin], "") && findExecutable("pg_ctl", [bin], "")) return bin;
  }
  return undefined;
}

/** True when the cluster owner (see clusterOwner) can enter `dir`. */
export async function ownerCanEnter(dir: string): Promise<boolean> {
  const owner = await clusterOwner();
  if (!owner) return true;
  return (await runCommand("runuser", ["-u", owner.name, "--", "test", "-x", dir])).code === 0;
}

/** Who owns and runs the cluster: the current user, or as root a user initdb accepts. */
export async function clusterOwner(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const uid = await runCommand("id", ["-u", name]);
    const gid = await runCommand("id", ["-g", name]);
    if (uid.code === 0 && gid.code === 0) return { name, uid: Number(uid.output.trim()), gid: Number(gid.output.trim()) };
  }
  throw new Error("running as root, but there is no `postgres` or `nobody` user to own the PostgreSQL cluster (initdb refuses root)");
}

export interface PrivatePostgresOptions {
  binDir: string;
  dataDir: string;
  port: number;
  logFile: string;
}

/**
 * Creates the cluster in dataDir if it has none (trust authentication, TCP on
 * 127.0.0.1 only, no Unix socket), starts it on `port` and waits until it accepts
 * connections. Its superuser is `postgres`, plus a superuser named after the
 * current user so a URL without a user name works.
 */
export async function startPrivatePostgres({ binDir, dataDir, port, logFile }: PrivatePostgresOptions): Promise<Service> {
  const owner = await clusterOwner();
  const asOwner = (program: string, args: string[]) =>
    owner ? runChecked("runuser", ["-u", owner.name, "--", join(binDir, program), ...args], { detached: true }) : runChecked(join(binDir, program), args, { detached: true });

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  closeSync(openSync(logFile, "a"));
  if (owner) {
    chownSync(dataDir, owner.uid, owner.gid);
    chownSync(logFile, owner.uid, owner.gid);
    const reachable = await runCommand("runuser", ["-u", owner.name, "--", "test", "-w", dataDir]);
    if (reachable.code !== 0) {
      throw new Error(`the ${owner.name} user cannot reach ${dataDir} (a parent directory is closed to it); clone the project somewhere ${owner.name} can read, or run as a normal user`);
    }
  }
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    await asOwner("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"]);
    appendFileSync(
      join(dataDir, "postgresql.conf"),
      "\n# netmap: a private development cluster, TCP on 127.0.0.1 only\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n",
    );
  }
  // pg_ctl in its own session (detached), so a Ctrl-C in the terminal does not reach the postmaster.
  try {
    await asOwner("pg_ctl", ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "30", "start"]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast lines of ${logFile}:\n${tail(logFile)}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilAccepting(url);
  await createCurrentUserRole(url);
  let stopped = false;
  return {
    name: "PostgreSQL",
    url: `postgres://127.0.0.1:${port}`,
    started: true,
    logFile,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await asOwner("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    },
  };
}

async function waitUntilAccepting(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

async function createCurrentUserRole(superuserUrl: string): Promise<void> {
  const name = userInfo().username;
  if (name === "postgres") return;
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]);
    if (!rowCount) await client.query(`CREATE ROLE ${client.escapeIdentifier(name)} SUPERUSER LOGIN`);
  } finally {
    await client.end();
  }
}
