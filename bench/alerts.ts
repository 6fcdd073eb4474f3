// npm run bench:alerts — latency from a report being published to the webhook
// that it caused being received.
//
// A collector (`serve`, in this process) with a webhook notifier, a private
// nats-server and a fresh database; 1,000 simulated hosts each publish a
// HostReport every interval, spread evenly over it, through JetStream as
// agents do. Each round 1 % of them report a filesystem past the threshold
// (FilesystemAlmostFull with `for: 0s`, so no `for` duration is measured),
// and the previous round's 1 % report it freed. For every such report the
// clock runs from just before its publish to the arrival of the webhook
// naming its host with the expected status (firing, then resolved).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import type { WebhookPayload } from "../collector/src/alerts/notifiers/webhook.ts";
import { loadCollectorConfig } from "../collector/src/config.ts";
import { serve } from "../collector/src/serve.ts";
import { encodeReport } from "../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../proto/src/subjects.ts";
import { freePort, startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { sampleReport } from "../test/helpers/reports.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1_000);
/** Rounds after the first (which registers the hosts); the last one only frees. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const INTERVAL_SECONDS = Number(process.env.BENCH_INTERVAL ?? 5);
const CROSSING = Math.max(1, Math.round(HOSTS / 100));
const GiB = 1024 ** 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const nats = await startNatsServer();
const database = await createTestDatabase();
const dir = mkdtempSync(join(tmpdir(), "netmap-bench-alerts-"));
const published = new Map<string, number>(); // "host firing|resolved" → performance.now() at publish
const latencies: Record<"firing" | "resolved", number[]> = { firing: [], resolved: [] };
let webhooks = 0;

const hookPort = await freePort();
const receiver = createServer((request, response) => {
  let body = "";
  request.on("data", (c) => (body += c));
  request.on("end", () => {
    const arrived = performance.now();
    webhooks++;
    const payload = JSON.parse(body) as WebhookPayload;
    for (const alert of payload.alerts) {
      const key = `${alert.labels.host} ${alert.status}`;
      const sent = published.get(key);
      if (sent === undefined) continue;
      published.delete(key);
      latencies[alert.status as "firing" | "resolved"].push(arrived - sent);
    }
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(hookPort, "127.0.0.1", resolve));

writeFileSync(
  join(dir, "netmap.yaml"),
  `notifiers:
  - name: bench
    type: webhook
    url: http://127.0.0.1:${hookPort}/
rules:
  FilesystemAlmostFull:
    for: 0s
`,
);

try {
  const config = loadCollectorConfig({ env: { NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: "127.0.0.1:0", NETMAP_GRPC_ADDR: "127.0.0.1:0", NETMAP_TOKEN: "bench", NETMAP_CONFIG: join(dir, "netmap.yaml") } });
  const collector = await serve(config, pino({ level: "warn" }));
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);

  const report = (host: number, round: number, full: boolean) => {
    const agentId = `bench-${host}`;
    const usedGiB = full ? 90 : 50;
    return sampleReport({
      agentId,
      hostname: agentId,
      seq: round + 1,
      collectedAt: new Date(),
      mounts: [{ mountpoint: "/srv", device: "/dev/vdb", fsType: "xfs", sizeBytes: 100 * GiB, usedBytes: usedGiB * GiB, availableBytes: (100 - usedGiB) * GiB, inodesTotal: 1_000_000, inodesUsed: 1_000 }],
    });
  };

  // Round 0 registers every host (first reports insert the hosts): not measured.
  // From round 1, hosts [k, k + CROSSING) fill up, and the previous round's free theirs.
  const crossing = (round: number) => (round < 1 ? -1 : ((round - 1) * CROSSING) % HOSTS);
  const began = performance.now();
  for (let round = 0; round <= ROUNDS; round++) {
    const roundStart = began + round * INTERVAL_SECONDS * 1000;
    const fills = crossing(round);
    const frees = crossing(round - 1);
    const last = round === ROUNDS; // the last round only frees
    const pending: Promise<unknown>[] = [];
    for (let host = 0; host < HOSTS; host++) {
      const due = roundStart + (host / HOSTS) * INTERVAL_SECONDS * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const full = !last && fills >= 0 && host >= fills && host < fills + CROSSING;
      const freed = frees >= 0 && host >= frees && host < frees + CROSSING;
      const r = report(host, round, full);
      if (full) published.set(`${r.hostname} firing`, performance.now());
      if (freed) published.set(`${r.hostname} resolved`, performance.now());
      pending.push(js.publish(reportSubject(r.agentId), encodeReport(r), { msgID: reportMessageId(r.agentId, r.bootId, r.seq) }));
    }
    await Promise.all(pending);
  }
  const expected = 2 * CROSSING * (ROUNDS - 1);
  const deadline = performance.now() + 30_000;
  while (latencies.firing.length + latencies.resolved.length < expected && performance.now() < deadline) await sleep(50);
  await collector.stop();
  await nc.close();

  const all = [...latencies.firing, ...latencies.resolved].sort((a, b) => a - b);
  const pct = (sorted: number[], p: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!) : null);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const result = {
    hosts: HOSTS,
    intervalSeconds: INTERVAL_SECONDS,
    reportsPerSecond: Math.round(HOSTS / INTERVAL_SECONDS),
    rounds: ROUNDS,
    crossingPerRound: CROSSING,
    transitionsExpected: expected,
    transitionsMeasured: all.length,
    webhooksReceived: webhooks,
    latencyMs: {
      p50: pct(all, 50),
      p99: pct(all, 99),
      max: all.length ? Math.round(all.at(-1)!) : null,
      firing: { p50: pct(sorted(latencies.firing), 50), p99: pct(sorted(latencies.firing), 99) },
      resolved: { p50: pct(sorted(latencies.resolved), 50), p99: pct(sorted(latencies.resolved), 99) },
    },
    target: "p99 < 1000 ms",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (all.length < expected) process.exitCode = 1;
} finally {
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
  await database.drop();
  await nats.close();
}
