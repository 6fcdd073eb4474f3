// npm run bench:ingest — how fast the collector drains JetStream into PostgreSQL.
//
// N reports from A agents are published to a private nats-server first; then a
// collector starts and the clock runs until every report is stored. Beside it,
// in the same run, the reference: PostgreSQL's own COPY of the same number of
// time-series rows (psql \copy), the floor for any ingest path.
import { execFileSync } from "node:child_process";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import pino from "pino";
import { loadCollectorConfig } from "../collector/src/config.ts";
import { ensureReportStream } from "../collector/src/ingest/consumer.ts";
import { serve } from "../collector/src/serve.ts";
import { encodeReport } from "../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../proto/src/subjects.ts";
import { startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { sampleReport } from "../test/helpers/reports.ts";

const REPORTS = Number(process.env.BENCH_REPORTS ?? 20_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1_000);

const nats = await startNatsServer();
const database = await createTestDatabase();
try {
  const nc = await connect({ servers: nats.url });
  await ensureReportStream(nc, "netmap-collector");
  const js = jetstream(nc);
  const start = Date.now() - REPORTS * 1000;
  let bytes = 0;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < REPORTS; i++) {
    const agentId = `bench-${i % AGENTS}`;
    const report = sampleReport({ agentId, hostname: agentId, seq: Math.floor(i / AGENTS) + 1, collectedAt: new Date(start + i * 1000) });
    const data = encodeReport(report);
    bytes += data.length;
    inflight.push(js.publish(reportSubject(agentId), data, { msgID: reportMessageId(agentId, report.bootId, report.seq) }));
    if (inflight.length >= 500) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  await nc.close();
  process.stderr.write(`published ${REPORTS} reports from ${AGENTS} agents (${(bytes / REPORTS / 1024).toFixed(1)} KiB each)\n`);

  // Free ports and a token of its own: never the local collector's 7071 or its token file.
  const config = loadCollectorConfig({
    env: { NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: "127.0.0.1:0", NETMAP_GRPC_ADDR: "127.0.0.1:0", NETMAP_TOKEN: "bench" },
  });
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const began = performance.now();
  const collector = await serve(config, pino({ level: "warn" }));
  for (;;) {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM report_samples");
    if (rows[0].n >= REPORTS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ingestSeconds = (performance.now() - began) / 1000;
  await collector.stop();

  // Reference: COPY the same number of rows into a table shaped like report_samples (not partitioned: LIKE copies the columns).
  await db.query("CREATE TABLE copy_reference (LIKE report_samples)");
  const csv = Array.from({ length: REPORTS }, (_, i) =>
    `${i % AGENTS},1,${i},2026-11-23T00:00:00Z,12.5,8,4,0.5,0,0.5,0.4,0.3,2147483648,6442450944,0,1000,2000,100,50`,
  ).join("\n");
  const copyBegan = performance.now();
  execFileSync("psql", [database.url, "-qc", "\\copy copy_reference FROM STDIN WITH (FORMAT csv)"], { input: csv });
  const copySeconds = (performance.now() - copyBegan) / 1000;
  await db.end();

  const result = {
    reports: REPORTS,
    agents: AGENTS,
    ingestSeconds: +ingestSeconds.toFixed(2),
    reportsPerSecond: Math.round(REPORTS / ingestSeconds),
    rowsWrittenPerReport: "1 sample + 2 mount samples + latest state (host, 2 mounts, 2 listeners, 2 interfaces)",
    reference: { what: "psql \\copy of the same number of report_samples rows", seconds: +copySeconds.toFixed(2), rowsPerSecond: Math.round(REPORTS / copySeconds) },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await database.drop();
  await nats.close();
}
