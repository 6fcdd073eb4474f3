// PostgreSQL for `npm start`: use the server at the configured URL when it
// answers, otherwise run a private cluster under .netmap/; then make sure the
// database exists.
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { aptInstall, isRoot } from "../lib/commands.ts";
import { freePort, isLocalHost, openSocket } from "../lib/net.ts";
import { findPostgresBinDir, ownerCanEnter, startPrivatePostgres } from "./postgres-cluster.ts";
import { ServiceUnavailableError, foundService, type Service } from "./service.ts";

export const DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/netmap";

export type PostgresProbe = "postgres" | "closed" | "other";

export function postgresAddress(url: string): { host: string; port: number; database: string } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decodeURIComponent(parsed.pathname.slice(1)) || "postgres",
  };
}

/**
 * What listens at the URL's host and port: a PostgreSQL server, nothing, or
 * something else. Asks for TLS (SSLRequest), to which a PostgreSQL server
 * answers with the single byte S or N before any authentication.
 */
export async function probePostgres(url: string, timeoutMs = 2000): Promise<PostgresProbe> {
  const { host, port } = postgresAddress(url);
  const socket = await openSocket(host, port, timeoutMs);
  if (!socket) return "closed";
  return new Promise((resolve) => {
    const finish = (answer: PostgresProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish("other"), timeoutMs);
    socket.once("data", (chunk) => finish(chunk.length === 1 && (chunk[0] === 0x53 || chunk[0] === 0x4e) ? "postgres" : "other"));
    socket.once("error", () => finish("other"));
    socket.once("close", () => finish("other"));
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8, 0);
    sslRequest.writeInt32BE(80877103, 4);
    socket.write(sslRequest);
  });
}

export interface EnsurePostgresOptions {
  url: string;
  /** The git-ignored state directory (.netmap): the cluster goes in postgres/, the log in postgres.log. */
  stateDir: string;
  say: (line: string) => void;
}

/**
 * The server at options.url if it answers, else a private cluster this process
 * starts (and stops). The returned service's url is the database URL to use:
 * the same as options.url unless the private cluster had to take another port.
 */
export async function ensurePostgres({ url, stateDir, say }: EnsurePostgresOptions): Promise<Service> {
  const { host, port } = postgresAddress(url);
  const probe = await probePostgres(url);
  if (probe === "postgres") return foundService("PostgreSQL", url);
  if (!isLocalHost(host)) {
    throw new ServiceUnavailableError(`PostgreSQL does not answer at ${host}:${port}; start it there, or unset NETMAP_DATABASE_URL to run a local one`);
  }
  let binDir = findPostgresBinDir();
  if (!binDir && isRoot()) {
    await aptInstall(["postgresql"], say);
    // Debian's package may have started its own cluster on 5432.
    if ((await probePostgres(url)) === "postgres") return foundService("PostgreSQL", url);
    binDir = findPostgresBinDir();
  }
  if (!binDir) {
    throw new ServiceUnavailableError(
      `PostgreSQL does not answer at ${host}:${port} and initdb/pg_ctl are not installed.\n` +
        `Install it (Debian/Ubuntu: sudo apt-get install postgresql), or point NETMAP_DATABASE_URL at a running server.`,
    );
  }
  let listenPort = port;
  if (probe === "other") {
    listenPort = await freePort();
    say(`port ${port} is taken by something that is not PostgreSQL; the private PostgreSQL uses port ${listenPort}`);
  }
  const dataDir = await clusterDir(stateDir);
  say(`starting a private PostgreSQL (${binDir}) in ${dataDir} on port ${listenPort}...`);
  const cluster = await startPrivatePostgres({ binDir, dataDir, port: listenPort, logFile: join(dataDir, "..", "postgres.log") });
  const databaseUrl = new URL(url);
  databaseUrl.hostname = "127.0.0.1";
  databaseUrl.port = String(listenPort);
  return { ...cluster, url: databaseUrl.toString() };
}

/**
 * .netmap/postgres, unless the cluster's owner (the postgres user, when running
 * as root) cannot enter the project, e.g. a clone under /root: then a directory
 * under /var/tmp named after the project path.
 */
async function clusterDir(stateDir: string): Promise<string> {
  mkdirSync(stateDir, { recursive: true });
  if (await ownerCanEnter(stateDir)) return join(stateDir, "postgres");
  const id = createHash("sha256").update(stateDir).digest("hex").slice(0, 12);
  const dir = join("/var/tmp", `netmap-${id}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return join(dir, "postgres");
}

/** Creates the URL's database if it does not exist; returns true when it created it. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const { database } = postgresAddress(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  // libpq's rule, which pg only follows when $USER is set: no user name means the OS user's.
  if (!adminUrl.username) adminUrl.username = process.env.PGUSER ?? userInfo().username;
  const client = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    return true;
  } finally {
    await client.end();
  }
}
