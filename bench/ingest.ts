// npm run bench:ingest — how fast the collector drains JetStream into PostgreSQL, and how
// soon a published report shows in /api/v1/hosts/:id.
//
// The report is this machine's own (the agent's collectors run once here), copied for
// BENCH_AGENTS agents with their own ids, sequence numbers, times and CPU figures.
//
// 1. Steps: BENCH_STEP_REPORTS reports stored by `storeBatch` in-process (no NATS), in
//    batches of the configured batch size, each SQL statement timed (Kysely's query log)
//    and grouped by what it writes; the rest of the wall time is the collector's own work.
// 2. Throughput: BENCH_REPORTS reports published to a private nats-server first; then
//    BENCH_COLLECTORS `netmap serve` processes (one durable consumer) start, and the clock
//    runs until the consumer has every report acked (acked = committed).
// 3. Reference, same run: psql \copy of as many report_samples rows.
// 4. Latency: the collectors running, reports published at BENCH_RATE a second for
//    BENCH_LATENCY_SECONDS; one in BENCH_PROBE_EVERY is followed through
//    GET /api/v1/hosts/:id until the API shows it (polled every 100 ms, at most 10 probes at once).
// BENCH_REPORTS=0 measures the steps only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { Kysely, PostgresDialect, sql, type LogEvent } from "kysely";
import pg from "pg";
import pino from "pino";
import { collectors } from "../agent/src/collectors/index.ts";
import { buildReport, collect } from "../agent/src/report.ts";
import { createLinuxSource } from "../agent/src/source.ts";
import { migrateToLatest } from "../collector/src/db/database.ts";
import type { Database } from "../collector/src/db/schema.ts";
import { ensureReportStream } from "../collector/src/ingest/consumer.ts";
import { storeBatch } from "../collector/src/ingest/store.ts";
import { preparePartitions } from "../collector/src/series/housekeeping.ts";
import { DEFAULT_RETENTION } from "../collector/src/series/retention.ts";
import { HostReport } from "../proto/gen/netmap/v1/report.ts";
import { decodeReceivedReport, encodeReport } from "../proto/src/codec.ts";
import { REPORTS_STREAM, reportMessageId, reportSubject } from "../proto/src/subjects.ts";
import { signal, startCollectorProcess, type CollectorProcess } from "../test/helpers/fault-rig.ts";
import { startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";

const REPORTS = Number(process.env.BENCH_REPORTS ?? 100_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 10_000);
const STEP_REPORTS = Number(process.env.BENCH_STEP_REPORTS ?? 20_000);
const COLLECTORS = Number(process.env.BENCH_COLLECTORS ?? 1);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const PROBE_EVERY = Number(process.env.BENCH_PROBE_EVERY ?? 500);
const TOKEN = "bench-token";
/** How often a probe asks the API, and how many ask at once at most (more would load the API they measure). */
const POLL_MS = 100;
const MAX_PROBES = 10;

/** This machine's report, as its agent would send it. */
export async function machineReport(): Promise<HostReport> {
  const log = pino({ level: "silent" });
  const identity = { agentId: "bench", bootId: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", agentVersion: "0.1.0", intervalSeconds: 10 };
  return buildReport(identity, "bench", 1, await collect(collectors, createLinuxSource(), {}, log));
}

/** Agent `n`'s report number `seq`, encoded. */
export function agentReport(template: HostReport, n: number, seq: number, collectedAt: Date): HostReport {
  const agentId = `bench-${n}`;
  const report = HostReport.fromPartial({ ...template, agentId, hostname: agentId, seq, collectedAt });
  report.cpu!.usagePercent = (n * 7 + seq * 13) % 100;
  // What the latency probe watches for in the API.
  report.os!.uptimeSeconds = seq;
  return report;
}

/** Publishes as the agent does: a JetStream publish with Nats-Msg-Id, many in flight. */
export function publisher(nc: NatsConnection) {
  const inflight = new Set<Promise<unknown>>();
  return {
    async publish(report: HostReport): Promise<void> {
      const header = headers();
      header.set("Nats-Msg-Id", reportMessageId(report.agentId, report.bootId, report.seq));
      const sent = nc.request(reportSubject(report.agentId), encodeReport(report), { headers: header, timeout: 60_000 });
      inflight.add(sent);
      void sent.finally(() => inflight.delete(sent));
      if (inflight.size >= 1000) await Promise.race(inflight);
    },
    flush: () => Promise.all(inflight),
  };
}

export async function waitAcked(nc: NatsConnection, consumer: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (;;) {
    const info = await jsm.consumers.info(REPORTS_STREAM, consumer);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startCollectors(count: number, natsUrl: string, databaseUrl: string, config: string): Promise<CollectorProcess[]> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-bench-"));
  const configFile = join(dir, "netmap.yaml");
  writeFileSync(configFile, config);
  return Promise.all(Array.from({ length: count }, () => startCollectorProcess({ natsUrls: natsUrl, databaseUrl, configFile, token: TOKEN })));
}

/**
 * CPU seconds (user + system) a process has used, from /proc: what a step costs whatever
 * else runs on the machine, where wall-clock figures move with the other sessions' load.
 */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0; // gone
  }
}

/** The PostgreSQL backends serving the database (the one asking too: it does little). A backend gone meanwhile counts for nothing. */
const BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()";

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function steps(template: HostReport): Promise<Record<string, unknown>> {
  const database = await createTestDatabase();
  const byStep = new Map<string, number>();
  const step = (text: string) =>
    /INSERT INTO hosts|FROM hosts WHERE agent_id/.test(text) ? "upsert hosts"
    : /host_boots/.test(text) ? "boot ids"
    : /INSERT INTO report_samples/.test(text) ? "insert report_samples"
    : /INSERT INTO mount_samples/.test(text) ? "insert mount_samples"
    : /UPDATE hosts/.test(text) ? "advance latest (UPDATE hosts)"
    : /host_mounts|host_listeners|host_interfaces/.test(text) ? "latest mounts/listeners/interfaces"
    : /^\s*(begin|commit)/i.test(text) ? "BEGIN, COMMIT (WAL flush)"
    : "other";
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event: LogEvent) => {
      const name = step(event.query.sql);
      byStep.set(name, (byStep.get(name) ?? 0) + event.queryDurationMillis);
    },
  });
  try {
    await migrateToLatest(db);
    await preparePartitions(db, DEFAULT_RETENTION, new Date());
    byStep.clear();
    const start = Date.now() - (STEP_REPORTS / AGENTS + 1) * 10_000;
    const encoded = Array.from({ length: STEP_REPORTS }, (_, i) => {
      const seq = Math.floor(i / AGENTS) + 1;
      return encodeReport(agentReport(template, i % AGENTS, seq, new Date(start + seq * 10_000 + (i % AGENTS))));
    });
    let decodeMs = 0;
    let storeMs = 0;
    // Every agent's first report before the clock: their hosts exist, as in a running installation.
    for (let i = 0; i < AGENTS; i += BATCH) {
      const receivedAt = new Date();
      await storeBatch(db, Array.from({ length: Math.min(BATCH, AGENTS - i) }, (_, k) => ({ report: agentReport(template, i + k, 0, new Date(start + i + k)), receivedAt })));
    }
    byStep.clear();
    const servers = (await sql.raw<{ pid: number }>(BACKENDS).execute(db)).rows.map((r) => r.pid);
    const serversCpuBefore = servers.map(cpuSeconds);
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < encoded.length; i += BATCH) {
      const t = performance.now();
      const receivedAt = new Date();
      const batch = encoded.slice(i, i + BATCH).map((data) => ({ ...decodeReceivedReport(data), receivedAt }));
      const s = performance.now();
      decodeMs += s - t;
      await storeBatch(db, batch);
      storeMs += performance.now() - s;
    }
    const cpu = process.cpuUsage(cpuBefore);
    const serversCpu = servers.reduce((sum, pid, k) => sum + Math.max(0, cpuSeconds(pid) - serversCpuBefore[k]!), 0);
    const statementsMs = [...byStep.values()].reduce((a, b) => a + b, 0);
    const perReportUs = (ms: number) => +((ms * 1000) / STEP_REPORTS).toFixed(1);
    return {
      reports: STEP_REPORTS,
      batch: BATCH,
      reportsPerSecond: Math.round(STEP_REPORTS / ((decodeMs + storeMs) / 1000)),
      microsecondsPerReport: {
        "decode (protobuf)": perReportUs(decodeMs),
        ...Object.fromEntries([...byStep].sort((a, b) => b[1] - a[1]).map(([k, ms]) => [k, perReportUs(ms)])),
        "collector's own work between statements": perReportUs(storeMs - statementsMs),
      },
      cpuMicrosecondsPerReport: {
        what: "CPU time used, whatever the machine's load: the benchmark process (decode, building the statements, the driver) and its PostgreSQL backends",
        collector: perReportUs((cpu.user + cpu.system) / 1000),
        postgresql: perReportUs(serversCpu * 1000),
      },
    };
  } finally {
    await db.destroy();
    await database.drop();
  }
}

async function main(): Promise<void> {
  const template = await machineReport();
  const size = encodeReport(template).length;
  process.stderr.write(`this machine's report: ${size} bytes; measuring the steps…\n`);
  const stepFigures = await steps(template);
  process.stderr.write(`${JSON.stringify(stepFigures)}\n`);
  if (!REPORTS) return; // BENCH_REPORTS=0: the steps only

  const nats = await startNatsServer();
  const database = await createTestDatabase();
  let running: CollectorProcess[] = [];
  try {
    // Schema and partitions first, as a running installation has them: the clock measures ingest only.
    const setup = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) });
    await migrateToLatest(setup);
    await preparePartitions(setup, DEFAULT_RETENTION, new Date());
    await setup.destroy();

    const nc = await connect({ servers: nats.url });
    await ensureReportStream(nc, "netmap-collector");
    const pub = publisher(nc);
    const perAgent = Math.ceil(REPORTS / AGENTS);
    const start = Date.now() - (perAgent + 1) * 10_000;
    const publishBegan = performance.now();
    for (let i = 0; i < REPORTS; i++) {
      const seq = Math.floor(i / AGENTS) + 1;
      await pub.publish(agentReport(template, i % AGENTS, seq, new Date(start + seq * 10_000 + (i % AGENTS))));
    }
    await pub.flush();
    const publishSeconds = (performance.now() - publishBegan) / 1000;
    process.stderr.write(`published ${REPORTS} reports from ${AGENTS} agents in ${publishSeconds.toFixed(1)} s; ${COLLECTORS} collector(s) draining…\n`);

    const began = performance.now();
    running = await startCollectors(COLLECTORS, nats.url, database.url, `log:\n  level: warn\ningest:\n  batch_size: ${BATCH}\n`);
    // CPU time from here (the collectors ready) to the last ack, per process, per report stored meanwhile.
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const backendsNow = async () => (await db.query<{ pid: number }>(BACKENDS)).rows.map((r) => r.pid);
    const natsPid = Number(execFileSync("pgrep", ["-f", `^nats-server .*-p ${nats.port} `], { encoding: "utf8" }).trim().split("\n")[0]);
    const collectorPids = running.map((c) => c.child.pid!);
    const cpuAtReady = new Map([natsPid, ...collectorPids, ...(await backendsNow())].map((pid) => [pid, cpuSeconds(pid)]));
    const storedAtReady = (await db.query("SELECT count(*)::int AS n FROM report_samples")).rows[0].n as number;
    await waitAcked(nc, "netmap-collector");
    const ingestSeconds = (performance.now() - began) / 1000;
    const used = (pids: number[]) => pids.reduce((sum, pid) => sum + Math.max(0, cpuSeconds(pid) - (cpuAtReady.get(pid) ?? 0)), 0);
    const perReportUs = (seconds: number) => Math.round((seconds * 1e6) / (REPORTS - storedAtReady));
    const cpuPerReport = {
      what: `CPU time from the collectors ready to the last ack, per report stored meanwhile (${REPORTS - storedAtReady})`,
      collectors: perReportUs(used(collectorPids)),
      postgresql: perReportUs(used(await backendsNow())),
      natsServer: perReportUs(used([natsPid])),
    };
    process.stderr.write(`stored ${REPORTS} reports in ${ingestSeconds.toFixed(1)} s: ${Math.round(REPORTS / ingestSeconds)}/s; CPU µs a report ${JSON.stringify(cpuPerReport)}\n`);

    const { rows: stored } = await db.query("SELECT count(*)::int AS n FROM report_samples");
    if (stored[0].n !== REPORTS) throw new Error(`stored ${stored[0].n} reports, published ${REPORTS}`);

    // Reference: COPY the same number of rows into a table shaped like report_samples.
    await db.query("CREATE TABLE copy_reference (LIKE report_samples)");
    const csv = Array.from({ length: REPORTS }, (_, i) => `${i % AGENTS},1,${i},2026-11-23T00:00:00Z,12.5,8,4,0.5,0,0.5,0.4,0.3,2147483648,6442450944,0,1000,2000,100,50`).join("\n");
    const copyBegan = performance.now();
    execFileSync("psql", [database.url, "-qc", "\\copy copy_reference FROM STDIN WITH (FORMAT csv)"], { input: csv });
    const copySeconds = (performance.now() - copyBegan) / 1000;
    await db.query("DROP TABLE copy_reference");

    // Latency at RATE: publish on a clock, follow one report in PROBE_EVERY through the API.
    const { rows: hostRows } = await db.query<{ id: number; agent_id: string }>("SELECT id, agent_id FROM hosts WHERE agent_id LIKE 'bench-%'");
    await db.end();
    const hostOf = new Map(hostRows.map((r) => [r.agent_id, r.id]));
    const latencies: number[] = [];
    const apiErrors = new Map<number, number>();
    const probes = new Set<Promise<void>>();
    let skipped = 0;
    const probe = async (agentId: string, seq: number, published: number, api: string) => {
      for (;;) {
        const response = await fetch(`${api}/api/v1/hosts/${hostOf.get(agentId)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        if (!response.ok) {
          // Under load the API may answer 5xx (its database pool busy): counted, and asked again.
          apiErrors.set(response.status, (apiErrors.get(response.status) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, POLL_MS));
          continue;
        }
        const { host } = (await response.json()) as { host: { uptimeSeconds: number | null } };
        if ((host.uptimeSeconds ?? 0) >= seq) return void latencies.push(performance.now() - published);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    const total = RATE * LATENCY_SECONDS;
    const latencyBegan = performance.now();
    let behind = 0;
    for (let i = 0; i < total; i++) {
      const due = latencyBegan + (i / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) behind++;
      const n = i % AGENTS;
      const seq = perAgent + 1 + Math.floor(i / AGENTS);
      const published = performance.now();
      await pub.publish(agentReport(template, n, seq, new Date()));
      if (i % PROBE_EVERY === 0 && probes.size >= MAX_PROBES) skipped++;
      else if (i % PROBE_EVERY === 0) {
        const p = probe(`bench-${n}`, seq, published, running[(i / PROBE_EVERY) % running.length]!.httpUrl).finally(() => probes.delete(p));
        probes.add(p);
      }
    }
    await pub.flush();
    const offeredPerSecond = total / ((performance.now() - latencyBegan) / 1000);
    await Promise.all(probes);
    await nc.close();
    latencies.sort((a, b) => a - b);

    const result = {
      reportBytes: size,
      reports: REPORTS,
      agents: AGENTS,
      collectors: COLLECTORS,
      batchSize: BATCH,
      steps: stepFigures,
      throughput: {
        ingestSeconds: +ingestSeconds.toFixed(2),
        reportsPerSecond: Math.round(REPORTS / ingestSeconds),
        publishedPerSecond: Math.round(REPORTS / publishSeconds),
        cpuMicrosecondsPerReport: cpuPerReport,
      },
      reference: { what: "psql \\copy of as many report_samples rows", seconds: +copySeconds.toFixed(2), rowsPerSecond: Math.round(REPORTS / copySeconds) },
      latency: {
        what: `publish → visible in /api/v1/hosts/:id, ${latencies.length} probes`,
        offeredPerSecond: Math.round(offeredPerSecond),
        target: RATE,
        publisherFellBehindBy1s: behind,
        p50Ms: Math.round(percentile(latencies, 0.5)),
        p99Ms: Math.round(percentile(latencies, 0.99)),
        maxMs: Math.round(latencies.at(-1) ?? NaN),
        apiErrors: Object.fromEntries(apiErrors),
        probesSkippedWhileTenWereWaiting: skipped,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const c of running) await signal(c, "SIGTERM");
    await database.drop();
    await nats.close();
  }
}

if (import.meta.main) await main();
