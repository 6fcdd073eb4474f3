// `npm start`: a working NetMap on this machine. Finds (or starts) NATS and
// PostgreSQL, runs the collector and a local agent, and stops what it started
// on Ctrl-C. Started through scripts/bootstrap.mjs, which installs dependencies.
import { existsSync, mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { localTokenPath, readLocalToken } from "../collector/src/auth/token.ts";
import { grpcAddress } from "../collector/src/serve.ts";
import { loadCollectorConfig } from "../collector/src/config.ts";
import { buildWeb } from "./build-web.ts";
import { startChild, type Child } from "./lib/children.ts";
import { isPortOpen, sleep } from "./lib/net.ts";
import { DEFAULT_NATS_URL, ensureNats } from "./services/nats.ts";
import { DEFAULT_DATABASE_URL, ensureDatabase, ensurePostgres } from "./services/postgres.ts";
import { ServiceUnavailableError, type Service } from "./services/service.ts";

const root = resolve(import.meta.dirname, "..");
const stateDir = join(root, ".netmap");
const DEFAULT_HTTP_ADDR = "127.0.0.1:7070";
const HEALTHZ_TIMEOUT_MS = 60_000;

const services: Service[] = [];
const children: Child[] = [];
let stopping = false;
/** The start-up step in flight; shutdown waits for it so nothing it starts is left behind. */
let currentStep: Promise<unknown> = Promise.resolve();

function say(line: string): void {
  process.stdout.write(`netmap | ${line}\n`);
}

async function step<T>(work: Promise<T>): Promise<T> {
  currentStep = work.catch(() => {});
  const result = await work;
  if (stopping) throw new StopRequested();
  return result;
}

/** A step that starts a service: the service is registered for shutdown even if a stop came meanwhile. */
function startService(work: Promise<Service>): Promise<Service> {
  return step(
    work.then((service) => {
      services.push(service);
      return service;
    }),
  );
}

class StopRequested extends Error {}

async function main(): Promise<void> {
  // A closed terminal must not turn the shutdown into a crash.
  process.stdout.on("error", () => {});
  process.stderr.on("error", () => {});
  process.on("SIGINT", () => void shutdown(0, "interrupted"));
  process.on("SIGTERM", () => void shutdown(0, "terminated"));
  process.on("SIGHUP", () => void shutdown(0, "hung up"));
  mkdirSync(stateDir, { recursive: true });

  const http = httpAddress(process.env.NETMAP_HTTP_ADDR ?? DEFAULT_HTTP_ADDR);
  if (await isPortOpen(http.host, http.port)) {
    throw new ServiceUnavailableError(
      `something already listens on ${http.host}:${http.port} (another netmap serve?); stop it or set NETMAP_HTTP_ADDR to a free address`,
    );
  }
  for (const program of ["collector/src/main.ts", "agent/src/main.ts"]) {
    if (!existsSync(join(root, program))) throw new Error(`${program} is missing from this checkout`);
  }

  const nats = await startService(ensureNats({ url: process.env.NETMAP_NATS_URL ?? DEFAULT_NATS_URL, stateDir, say }));
  say(`NATS: ${nats.started ? `started a private nats-server at ${nats.url} (log: ${nats.logFile})` : `using the running server at ${nats.url}`}`);

  const postgres = await startService(ensurePostgres({ url: process.env.NETMAP_DATABASE_URL ?? DEFAULT_DATABASE_URL, stateDir, say }));
  say(`PostgreSQL: ${postgres.started ? `started a private server, ${postgres.url} (log: ${postgres.logFile})` : `using the running server at ${postgres.url}`}`);
  if (await step(ensureDatabase(postgres.url))) say(`created the database ${new URL(postgres.url).pathname.slice(1)}`);

  // pg takes a URL's missing user name from $USER, which a service manager or a container may not set.
  const pgUser = process.env.PGUSER ?? process.env.USER ?? userInfo().username;
  // Readable log lines when npm start itself runs on a terminal (the collector's stdout is a pipe to it).
  const logFormat = process.env.NETMAP_LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json");
  const env = { ...process.env, NETMAP_LOG_FORMAT: logFormat, PGUSER: pgUser, NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: postgres.url, NETMAP_HTTP_ADDR: `${http.host}:${http.port}` };
  await step(buildWeb());
  say("web console built into web/dist");
  const collector = runChild("collector", ["collector/src/main.ts", "serve"], env);
  await step(waitForHealthz(`http://${http.host}:${http.port}/healthz`, collector));

  runChild("agent", ["agent/src/main.ts", "--nats", nats.url, "--spool-dir", join(stateDir, "agent")], env);

  const pageHost = http.host === "0.0.0.0" ? "127.0.0.1" : http.host;
  const page = `http://${pageHost.includes(":") ? `[${pageHost}]` : pageHost}:${http.port}/`;
  say("");
  for (const line of statusPageLines(page, env)) say(line);
  for (const service of services) say(`  ${service.name.padEnd(10)} ${service.url}  (${service.started ? "started by npm start, stopped on exit" : "already running, left alone"})`);
  for (const child of children) say(`  ${child.name.padEnd(10)} pid ${child.pid}`);
  say("Press Ctrl-C to stop.");
  say("");
}

/**
 * How to reach the status page, whose data needs the collector's token. The token made for this
 * run goes in the link's fragment (#token=…), which the browser never sends: the page keeps it
 * for the tab and takes it out of the address bar. A configured token, which outlives the run,
 * is not printed; the page asks for it.
 */
function statusPageLines(page: string, env: NodeJS.ProcessEnv): string[] {
  let config: ReturnType<typeof loadCollectorConfig> | undefined;
  try {
    // As the collector (cwd: the checkout) reads it; it started, so this loads.
    const configFile = env.NETMAP_CONFIG ? resolve(root, env.NETMAP_CONFIG) : existsSync(join(root, "netmap.yaml")) ? join(root, "netmap.yaml") : undefined;
    config = loadCollectorConfig({ env, configFlag: configFile });
  } catch {
    // Left to the collector to report.
  }
  const grpc = config ? grpcAddress(config.grpc) : (env.NETMAP_GRPC_ADDR ?? "127.0.0.1:7071");
  // What another shell needs for the netmap CLI to reach this instance rather than another one.
  const exports = (token: string) => [`  for the netmap CLI in another shell:`, `    export NETMAP_GRPC_ADDR=${grpc} NETMAP_TOKEN=${token}`];
  if (config?.token != null) {
    return [
      `NetMap is running. Status page: ${page}`,
      "  sign in with the configured token (NETMAP_TOKEN or token_file); the netmap CLI takes it in NETMAP_TOKEN",
      ...exports("<the configured token>"),
    ];
  }
  const tokenFile = localTokenPath(env, grpc);
  const token = readLocalToken(tokenFile);
  if (!token) return [`NetMap is running. Status page: ${page}`, `  its token is in ${tokenFile}`];
  return [
    `NetMap is running. Status page (this link signs you in; keep it to yourself): ${page}#token=${token}`,
    `  the token (HTTP API, /metrics, netmap CLI) is new each run, in ${tokenFile}`,
    ...exports(token),
  ];
}

function runChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = startChild(name, process.execPath, args, { cwd: root, env, labelWidth: 9 });
  children.push(child);
  void child.exited.then((how) => {
    if (stopping) return;
    say(`${name} stopped unexpectedly (${how}); stopping everything`);
    void shutdown(1);
  });
  return child;
}

async function waitForHealthz(url: string, collector: Child): Promise<void> {
  say(`waiting for the collector at ${url}...`);
  const deadline = Date.now() + HEALTHZ_TIMEOUT_MS;
  while (collector.running && !stopping) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the collector did not answer ${url} with 200 within ${HEALTHZ_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
  // The collector exited (runChild's handler reports it and stops everything) or a stop was asked for.
  throw new StopRequested();
}

async function shutdown(code: number, reason?: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (reason) say(`${reason}; stopping`);
  await currentStep;
  for (const child of [...children].reverse()) {
    if (child.running) say(`stopping ${child.name}`);
    await child.stop();
  }
  for (const service of [...services].reverse()) {
    if (!service.started) continue;
    say(`stopping the ${service.name} started for this run`);
    try {
      await service.stop();
    } catch (error) {
      say(`could not stop ${service.name}: ${(error as Error).message}`);
      code = 1;
    }
  }
  process.exit(code);
}

function httpAddress(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!match) throw new ServiceUnavailableError(`NETMAP_HTTP_ADDR: expected HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

main().catch(async (error: unknown) => {
  if (error instanceof StopRequested) return;
  const known = error instanceof ServiceUnavailableError;
  say(known ? (error as Error).message : `start failed: ${(error as Error).message || String(error)}`);
  await shutdown(1);
});
