// Starts a private nats-server (JetStream on, store in a temp dir, a free port)
// for one test file, so tests never touch the machine's shared NATS.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestNatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server; the store survives so start() can bring the same one back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its store. */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, host);
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NatsServerOptions {
  /**
   * A nats-server config file (-c), for TLS, authorization and the like. The
   * flags still given win over it: the address, the port, JetStream with its store in storeDir
   * (so no store_dir in the file: nats-server 2.9 refuses it twice).
   */
  configFile?: string;
  /** The address to listen on: 127.0.0.1 by default; a test network's address for agents in namespaces. */
  address?: string;
  /** The port to listen on (the one the config file names); a free one by default. */
  port?: number;
  /**
   * The config file enables JetStream itself (jetstream { store_dir }), without the flags: a
   * SIGHUP reload goes by the file and refuses a store directory that only a flag set.
   */
  reloadable?: boolean;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<TestNatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), "netmap-nats-"));
  let child: ChildProcess | undefined;
  const address = options.address ?? "127.0.0.1";
  const args = [...(options.configFile ? ["-c", options.configFile] : []), "-a", address, "-p", String(port), ...(options.reloadable ? [] : ["-js", "-sd", storeDir])];

  const start = async () => {
    child = spawn("nats-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    const spawned = child;
    let log = ""; // the end of its log, to say why it exited (a bad config file, a port taken)
    spawned.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000)));
    const exited = new Promise<never>((_, reject) => spawned.once("exit", (code) => reject(new Error(`nats-server exited with ${code}: ${log.trim()}`))));
    exited.catch(() => {});
    await Promise.race([waitForPort(port, 10_000, address), exited]);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => { running.once("exit", () => resolve()); running.kill("SIGTERM"); });
  };
  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://${address}:${port}`,
    port,
    storeDir,
    start,
    stop,
    close: async () => { await stop(); rmSync(storeDir, { recursive: true, force: true }); },
  };
}
