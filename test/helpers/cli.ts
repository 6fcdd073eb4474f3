// The admin CLI against a real collector: `netmap serve` in this process (private NATS, fresh
// database) and the real `netmap` as a child process, with a HOME of its own so that no token
// file of the user's is read.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCollector, type TestCollector } from "./collector.ts";
import { startNatsServer, type TestNatsServer } from "./nats-server.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";
import { runProgram, type Run } from "./run.ts";

export const NETMAP_MAIN = new URL("../../collector/src/main.ts", import.meta.url).pathname;

export interface CliTestbed {
  nats: TestNatsServer;
  database: TestDatabase;
  collector: TestCollector;
  /** The CLI's HOME and XDG_STATE_HOME. */
  dir: string;
  /** The CLI's environment: the collector's address and token. */
  env: Record<string, string>;
  /** `netmap ARGS...`, with `extraEnv` over env; stopped with SIGTERM after timeoutMs. */
  netmap(args: string[], extraEnv?: Record<string, string>, timeoutMs?: number): Promise<Run>;
  close(): Promise<void>;
}

export interface CliTestbedOptions {
  /** The collector's netmap.yaml, written in the testbed's directory (given as dir) before it starts. */
  config?: (dir: string) => string;
}

export async function startCliTestbed(options: CliTestbedOptions = {}): Promise<CliTestbed> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-cli-"));
  const nats = await startNatsServer();
  const database = await createTestDatabase();
  const configFile = join(dir, "netmap.yaml");
  if (options.config) writeFileSync(configFile, options.config(dir));
  const collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: options.config ? { NETMAP_CONFIG: configFile } : {} });
  const env = { PATH: process.env.PATH!, HOME: dir, XDG_STATE_HOME: dir, NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token };
  return {
    nats,
    database,
    collector,
    dir,
    env,
    netmap: (args, extraEnv = {}, timeoutMs) => runProgram(process.execPath, [NETMAP_MAIN, ...args], { env: { ...env, ...extraEnv }, timeoutMs }),
    close: async () => {
      await collector.stop();
      await database.drop();
      await nats.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
