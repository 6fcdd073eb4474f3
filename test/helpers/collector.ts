// Runs `netmap serve` in-process against a private NATS and a fresh database, HTTP and gRPC
// on free ports, with a token of its own (the HTTP API's and the admin service's).
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { serve, type Collector } from "../../collector/src/serve.ts";
import { assertNoSecretLogged, configuredSecrets } from "./secrets.ts";

export interface TestCollector extends Collector {
  /** Every log line so far, parsed. */
  logs: Array<Record<string, unknown> & { msg: string; level: number }>;
  /** The collector's bearer token (NETMAP_TOKEN for the CLI, Authorization for HTTP). */
  token: string;
  /** GET with the token. */
  get(path: string): Promise<{ status: number; body: any }>;
  /** fetch() against the collector's HTTP server, with the token unless init sets authorization. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export async function startTestCollector(options: { natsUrl: string; databaseUrl: string; env?: Record<string, string> }): Promise<TestCollector> {
  const token = options.env?.NETMAP_TOKEN ?? randomBytes(24).toString("base64url");
  const config = loadCollectorConfig({
    env: {
      NETMAP_NATS_URL: options.natsUrl,
      NETMAP_DATABASE_URL: options.databaseUrl,
      NETMAP_HTTP_ADDR: "127.0.0.1:0",
      NETMAP_GRPC_ADDR: "127.0.0.1:0",
      NETMAP_TOKEN: token,
      ...options.env,
    },
    configFlag: undefined,
  });
  const logs: TestCollector["logs"] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const collector = await serve(config, pino({ level: "debug" }, sink));
  const secrets = configuredSecrets(config);
  const fetchWithToken = (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, collector.httpUrl), { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } });
  return {
    ...collector,
    // Whatever the suite did, its collector logged no secret it was given or minted.
    stop: async () => {
      await collector.stop();
      assertNoSecretLogged(logs, secrets);
    },
    logs,
    token,
    fetch: fetchWithToken,
    get: async (path) => {
      const response = await fetchWithToken(path);
      const text = await response.text();
      return { status: response.status, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
    },
  };
}
