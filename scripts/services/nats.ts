// NATS for `npm start`: use the one at the configured URL when it answers,
// otherwise run a private nats-server with JetStream whose store lives under .netmap/.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, findExecutable, isRoot } from "../lib/commands.ts";
import { freePort, isLocalHost, isPortOpen, openSocket, sleep } from "../lib/net.ts";
import { ServiceUnavailableError, foundService, type Service } from "./service.ts";

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export function natsAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port ? Number(parsed.port) : 4222 };
}

/** True when a NATS server answers at `url`: it greets every client with an `INFO {...}` line. */
export async function probeNats(url: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = natsAddress(url);
  const socket = await openSocket(host, port, timeoutMs);
  if (!socket) return false;
  return new Promise((resolve) => {
    let received = "";
    const finish = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n") || received.length >= 5) finish(received.startsWith("INFO "));
    });
    socket.once("error", () => finish(false));
    socket.once("close", () => finish(false));
  });
}

export function findNatsServer(): string | undefined {
  return findExecutable("nats-server", ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]);
}

export interface EnsureNatsOptions {
  url: string;
  /** The git-ignored state directory (.netmap): the store goes in nats/, the log in nats.log. */
  stateDir: string;
  say: (line: string) => void;
}

/** The NATS at options.url if it answers, else a private one this process starts (and stops). */
export async function ensureNats({ url, stateDir, say }: EnsureNatsOptions): Promise<Service> {
  if (await probeNats(url)) return foundService("NATS", url);
  const { host, port } = natsAddress(url);
  if (!isLocalHost(host)) {
    throw new ServiceUnavailableError(`NATS does not answer at ${url}; start it there, or unset NETMAP_NATS_URL to run a local one`);
  }
  let binary = findNatsServer();
  if (!binary && isRoot()) {
    await aptInstall(["nats-server"], say);
    binary = findNatsServer();
  }
  if (!binary) {
    throw new ServiceUnavailableError(
      `NATS does not answer at ${url} and nats-server is not installed.\n` +
        `Install it (Debian/Ubuntu: sudo apt-get install nats-server; or https://github.com/nats-io/nats-server/releases), ` +
        `or point NETMAP_NATS_URL at a running NATS with JetStream.`,
    );
  }
  let listenPort = port;
  if (await isPortOpen(host, port)) {
    listenPort = await freePort();
    say(`port ${port} is taken by something that is not NATS; the private NATS uses port ${listenPort}`);
  }
  return startPrivateNats({ binary, port: listenPort, storeDir: join(stateDir, "nats"), logFile: join(stateDir, "nats.log") });
}

export interface PrivateNatsOptions {
  binary: string;
  port: number;
  storeDir: string;
  logFile: string;
}

/** Starts nats-server with JetStream on 127.0.0.1:port and waits until it answers. */
export async function startPrivateNats({ binary, port, storeDir, logFile }: PrivateNatsOptions): Promise<Service> {
  mkdirSync(storeDir, { recursive: true });
  const url = `nats://127.0.0.1:${port}`;
  // Its own process group, so a Ctrl-C in the terminal reaches only the start
  // script, which stops the services in order.
  const child = spawn(binary, ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(port), "-l", logFile], {
    stdio: "ignore",
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.once("error", () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`nats-server exited at start (${child.exitCode ?? child.signalCode ?? "not started"}); last lines of ${logFile}:\n${tail(logFile)}`);
    }
    if (await probeNats(url, 500)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not answer at ${url} within 10 s; last lines of ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
  return {
    name: "NATS",
    url,
    started: true,
    logFile,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
