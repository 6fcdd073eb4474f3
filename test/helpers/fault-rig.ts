// The rig of the fault-injection suite (test/faults/): collectors and agents as real processes
// (so they can be SIGKILLed), a webhook receiver counting pages, and the row counts every case
// ends with: reports the agents built against reports stored, lost and doubled.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./nats-server.ts";
import { eventually, withLog } from "./wait.ts";

const root = join(import.meta.dirname, "..", "..");

export interface Process {
  child: ChildProcess;
  log: () => string;
  /** Parsed JSON log lines. */
  lines: () => Array<Record<string, unknown> & { msg: string }>;
  exited: Promise<void>;
}

function startProcess(script: string, args: string[], env: Record<string, string>): Process {
  const child = spawn(process.execPath, [join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = () =>
    log.split("\n").flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown> & { msg: string }];
      } catch {
        return [];
      }
    });
  return { child, log: () => log, lines, exited };
}

export async function signal(proc: Process | undefined, sig: NodeJS.Signals): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(sig);
  await proc.exited;
}

export interface CollectorProcess extends Process {
  httpUrl: string;
}

export async function startCollectorProcess(options: { natsUrls: string; databaseUrl: string; configFile: string; token: string }): Promise<CollectorProcess> {
  const port = await freePort();
  const proc = startProcess("collector/src/main.ts", ["serve", "--config", options.configFile], {
    NETMAP_NATS_URL: options.natsUrls,
    NETMAP_DATABASE_URL: options.databaseUrl,
    NETMAP_HTTP_ADDR: `127.0.0.1:${port}`,
    NETMAP_GRPC_ADDR: "127.0.0.1:0",
    NETMAP_TOKEN: options.token,
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${httpUrl}/healthz`)).ok, withLog("the collector to answer", proc.log), 60_000);
  return { ...proc, httpUrl };
}

export function startAgentProcess(options: {
  natsUrls: string;
  agentId: string;
  spoolDir: string;
  interval?: string;
  spoolMaxSize?: string;
  /** The agent's wall clock moved by this much, like "+1h" or "-1h" (libfaketime); its monotonic clock stays true. */
  clockOffset?: string;
}): Process {
  const args = ["--nats", options.natsUrls, "--interval", options.interval ?? "500ms", "--agent-id", options.agentId, "--spool-dir", options.spoolDir];
  if (options.spoolMaxSize) args.push("--spool-max-size", options.spoolMaxSize);
  const clock: Record<string, string> = options.clockOffset ? { LD_PRELOAD: libfaketime(), FAKETIME: options.clockOffset, FAKETIME_DONT_FAKE_MONOTONIC: "1" } : {};
  return startProcess("agent/src/main.ts", args, { NETMAP_LOG_LEVEL: "debug", ...clock });
}

/** Debian's faketime package puts the library under the multiarch directory. */
function libfaketime(): string {
  const multiarch = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch as "x64" | "arm64"];
  const path = `/usr/lib/${multiarch}/faketime/libfaketime.so.1`;
  if (!multiarch || !existsSync(path)) throw new Error(`libfaketime not found at ${path}: apt-get install faketime`);
  return path;
}

/** The seq of every report an agent built (its "cycle done" lines). */
export function builtReports(agent: Process): number[] {
  return agent.lines().filter((l) => l.msg === "cycle done").map((l) => l.seq as number);
}

export interface Counts {
  sent: number;
  stored: number;
  lost: number;
  doubled: number;
}

/** Reports built by the agents against rows of report_samples: every case ends with these. */
export async function countReports(databaseUrl: string, agents: Array<{ agentId: string; proc: Process }>): Promise<Counts> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const counts: Counts = { sent: 0, stored: 0, lost: 0, doubled: 0 };
    for (const { agentId, proc } of agents) {
      const built = new Set(builtReports(proc));
      const { rows } = await client.query<{ seq: string }>(
        "SELECT r.seq FROM report_samples r JOIN hosts h ON h.id = r.host_id WHERE h.agent_id = $1",
        [agentId],
      );
      const stored = rows.map((r) => Number(r.seq));
      const distinct = new Set(stored);
      counts.sent += built.size;
      counts.stored += distinct.size;
      counts.lost += [...built].filter((seq) => !distinct.has(seq)).length;
      counts.doubled += stored.length - distinct.size;
    }
    return counts;
  } finally {
    await client.end();
  }
}

export interface WebhookReceiver {
  url: string;
  pages: Array<{ status: string; alertname: string; fingerprint: string; labels: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const pages: WebhookReceiver["pages"] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (c) => (body += c));
    request.on("end", () => {
      const payload = JSON.parse(body) as { alerts: Array<{ status: string; fingerprint: string; labels: Record<string, string> }> };
      for (const alert of payload.alerts) pages.push({ status: alert.status, alertname: alert.labels.alertname ?? "", fingerprint: alert.fingerprint, labels: alert.labels });
      response.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}/hook`, pages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
