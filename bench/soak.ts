// npm run bench:soak -- --minutes 30 — ingest at a steady rate with housekeeping running:
// is the publish → API latency flat, and the database's size flat once retention applies?
//
// The collector (`netmap serve`, a process of its own) runs under libfaketime with its wall
// clock BENCH_SPEEDUP times faster than the real one (timers stay real: housekeeping still
// runs every real minute): a 30-minute soak covers 30 × BENCH_SPEEDUP minutes of the
// collector's time, enough for day partitions to pass a short retention (retention.raw 1h,
// minute 1d, hour 2d; raw partitions go a day after their last sample is past retention).
// Agents report every 10 s of that time: BENCH_RATE reports a real second need
// BENCH_RATE × 10 / BENCH_SPEEDUP agents. Every BENCH_SAMPLE_SECONDS the script prints the
// database's size, the series partitions, the consumer's backlog and the window's latency
// percentiles (one report in BENCH_PROBE_EVERY followed through GET /api/v1/hosts/:id, polled
// every 100 ms, at most 10 at once).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { REPORTS_STREAM } from "../proto/src/subjects.ts";
import { freePort, startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { eventually } from "../test/helpers/wait.ts";
import { agentReport, machineReport, publisher } from "./ingest.ts";

const { values: args } = parseArgs({ options: { minutes: { type: "string", default: "30" } } });
const MINUTES = Number(args.minutes);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SPEEDUP = Number(process.env.BENCH_SPEEDUP ?? 120);
const SAMPLE_SECONDS = Number(process.env.BENCH_SAMPLE_SECONDS ?? 60);
const PROBE_EVERY = Number(process.env.BENCH_PROBE_EVERY ?? 1_000);
const AGENTS = Math.max(1, Math.round((RATE * 10) / SPEEDUP));
const TOKEN = "bench-token";
/** How often a probe asks the API, and how many ask at once at most (more would load the API they measure). */
const POLL_MS = 100;
const MAX_PROBES = 10;

const template = await machineReport();
const nats = await startNatsServer();
const database = await createTestDatabase();
const dir = mkdtempSync(join(tmpdir(), "netmap-soak-"));
writeFileSync(join(dir, "netmap.yaml"), "log:\n  level: warn\nretention:\n  raw: 1h\n  minute: 1d\n  hour: 2d\n");
const port = await freePort();
const began = Date.now();
// The collector's clock: began + (t - began) × SPEEDUP. The publisher dates reports on it.
const simulated = () => new Date(began + (Date.now() - began) * SPEEDUP);
// libfaketime preloaded into node itself (not the faketime wrapper, which would not pass SIGTERM on).
const collector = spawn(process.execPath, [join(import.meta.dirname, "..", "collector/src/main.ts"), "serve", "--config", join(dir, "netmap.yaml")], {
  env: {
    ...process.env,
    LD_PRELOAD: "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    FAKETIME: `+0 x${SPEEDUP}`,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    NETMAP_NATS_URL: nats.url,
    NETMAP_DATABASE_URL: database.url,
    NETMAP_HTTP_ADDR: `127.0.0.1:${port}`,
    NETMAP_GRPC_ADDR: "127.0.0.1:0",
    NETMAP_TOKEN: TOKEN,
  },
  stdio: ["ignore", 2, 2], // its log to our stderr: stdout is the result
});
const api = `http://127.0.0.1:${port}`;
const db = new pg.Client({ connectionString: database.url });
try {
  await eventually(async () => (await fetch(`${api}/healthz`)).ok, "the collector to answer", 120_000);
  await db.connect();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const pub = publisher(nc);
  process.stderr.write(`soak: ${RATE} reports/s from ${AGENTS} agents for ${MINUTES} min; the collector's clock runs ×${SPEEDUP}\n`);

  const hostOf = new Map<string, number>();
  let latencies: number[] = [];
  const probes = new Set<Promise<void>>();
  const probe = async (agentId: string, seq: number, published: number) => {
    if (!hostOf.has(agentId)) {
      const { rows } = await db.query<{ id: number }>("SELECT id FROM hosts WHERE agent_id = $1", [agentId]);
      if (!rows.length) return; // its first report: no host to ask about yet
      hostOf.set(agentId, Number(rows[0]!.id));
    }
    for (;;) {
      const response = await fetch(`${api}/api/v1/hosts/${hostOf.get(agentId)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const { host } = (await response.json()) as { host: { uptimeSeconds: number | null } };
      if ((host.uptimeSeconds ?? 0) >= seq) return void latencies.push(performance.now() - published);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  const rows: Array<Record<string, unknown>> = [];
  const sample = async (minute: number) => {
    const { rows: size } = await db.query<{ bytes: string; partitions: number; samples: string }>(`
      SELECT pg_database_size(current_database())::bigint AS bytes,
             (SELECT count(*)::int FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname LIKE 'report_samples%') AS partitions,
             (SELECT count(*) FROM report_samples)::bigint AS samples`);
    const info = await jsm.consumers.info(REPORTS_STREAM, "netmap-collector");
    const sorted = latencies.sort((a, b) => a - b);
    const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN);
    const row = {
      realMinute: +minute.toFixed(1),
      collectorClock: simulated().toISOString().slice(0, 16),
      databaseMiB: +(Number(size[0]!.bytes) / 2 ** 20).toFixed(1),
      rawSamples: Number(size[0]!.samples),
      reportSamplesPartitions: size[0]!.partitions,
      backlog: info.num_pending + info.num_ack_pending,
      probes: sorted.length,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    };
    latencies = [];
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  };

  const t0 = performance.now();
  let nextSample = SAMPLE_SECONDS;
  const seqs = new Array<number>(AGENTS).fill(0);
  for (let i = 0; ; i++) {
    const due = t0 + (i / RATE) * 1000;
    if (due - t0 >= MINUTES * 60_000) break;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const n = i % AGENTS;
    const seq = ++seqs[n]!;
    const published = performance.now();
    await pub.publish(agentReport(template, n, seq, simulated()));
    if (i % PROBE_EVERY === 0 && probes.size < MAX_PROBES) {
      const p = probe(`bench-${n}`, seq, published).finally(() => probes.delete(p));
      probes.add(p);
    }
    if ((performance.now() - t0) / 1000 >= nextSample) {
      nextSample += SAMPLE_SECONDS;
      void sample((performance.now() - t0) / 60_000);
    }
  }
  await pub.flush();
  await Promise.all(probes);
  await sample((performance.now() - t0) / 60_000);
  await nc.close();
  process.stdout.write(`${JSON.stringify({ rate: RATE, agents: AGENTS, minutes: MINUTES, speedup: SPEEDUP, retention: { raw: "1h", minute: "1d", hour: "2d" }, samples: rows }, null, 2)}\n`);
} finally {
  collector.kill("SIGTERM");
  await new Promise((r) => collector.once("exit", r));
  await db.end();
  await database.drop();
  await nats.close();
}
