// A Prometheus user's view: netmap-agent on this machine reports through a private NATS to
// `netmap serve`; a real Prometheus scrapes /metrics/hosts with the collector's token and
// honor_labels, and the PromQL of the Node Exporter Full dashboard answers for this host.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "../../collector/src/db/database.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { promtoolCheckMetrics, startPrometheus, type TestPrometheus } from "../helpers/prometheus.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const root = new URL("../../", import.meta.url).pathname;
const memTotalBytes = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
/** node_exporter's own memory names are CamelCase after /proc/meminfo, which promtool's linter flags in node_exporter's output too. */
const NODE_EXPORTER_CAMEL_CASE = /^node_memory_[A-Za-z]+_bytes metric names should be written in 'snake_case' not 'camelCase'$/;

let nats: TestNatsServer;
let database: TestDatabase;
let collector: TestCollector;
let agent: RunningAgent;
let prometheus: TestPrometheus;
let spoolDir: string;

before(async () => {
  nats = await startNatsServer();
  database = await createTestDatabase();
  collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
  spoolDir = mkdtempSync(join(tmpdir(), "netmap-agent-"));
  agent = startAgentProcess(process.execPath, [join(root, "agent/src/main.ts"), "--nats", nats.url, "--interval", "1s", "--spool-dir", spoolDir], { env: process.env });
  const target = new URL(collector.httpUrl).host;
  // The scrape jobs users copy (deploy/grafana/prometheus-scrape.yml), pointed at this collector.
  const shipped = readFileSync(join(root, "deploy/grafana/prometheus-scrape.yml"), "utf8").replaceAll("netmap.example:7070", target).replaceAll("/etc/prometheus/netmap.token", "$DIR/token");
  prometheus = await startPrometheus(
    `${shipped}- job_name: netmap-without-token
  metrics_path: /metrics/hosts
  static_configs: [{ targets: ["${target}"] }]
`,
    { token: collector.token },
  );
});

after(async () => {
  await prometheus?.close();
  if (agent) await stopAgent(agent);
  await collector?.stop();
  await nats?.close();
  await database?.drop();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

const single = async (promql: string) => {
  const result = await prometheus.query(promql);
  return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
};

describe("Prometheus scraping /metrics/hosts", () => {
  test("MemTotal of this host, labelled with its own name through honor_labels, equals /proc/meminfo's", async () => {
    const value = await eventually(
      () => single(`node_memory_MemTotal_bytes{job="netmap-hosts",instance=${JSON.stringify(hostname())}}`),
      withLog("Prometheus to hold this host's MemTotal", () => `${prometheus.log()}\n${agent.stderr()}`),
      30_000,
    );
    assert.equal(value, memTotalBytes);
    assert.equal(await single(`netmap_host_up{instance=${JSON.stringify(hostname())}}`), 1);
  });

  test("CPU busy as Node Exporter Full computes it from node_cpu_seconds_total is a per cent", async () => {
    const busy = `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance=${JSON.stringify(hostname())}}[1m])))`;
    const value = await eventually(() => single(busy), "two scrapes of node_cpu_seconds_total", 30_000);
    assert.ok(value >= 0 && value <= 100, `CPU busy ${value}`);
    const cores = await single(`count(count(node_cpu_seconds_total{instance=${JSON.stringify(hostname())}}) by (cpu))`);
    assert.equal(cores, (readFileSync("/proc/stat", "utf8").match(/^cpu\d+ /gm) ?? []).length);
  });

  test("filesystem, network and disk counters carry node_exporter's labels", async () => {
    const root = await eventually(() => prometheus.query(`node_filesystem_avail_bytes{instance=${JSON.stringify(hostname())},mountpoint="/"}`).then((r) => r[0]), "the root filesystem");
    assert.ok(root.metric.fstype && root.metric.device, JSON.stringify(root.metric));
    const lo = await prometheus.query(`node_network_receive_bytes_total{instance=${JSON.stringify(hostname())},device="lo"}`);
    assert.equal(lo.length, 1);
  });

  test("every PromQL of the shipped Grafana dashboards runs, and the host detail's figures exist for this host", async () => {
    for (const file of ["fleet-overview.json", "host-detail.json"]) {
      const dashboard = JSON.parse(readFileSync(join(root, "deploy/grafana/dashboards", file), "utf8"));
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const expr = (target.expr as string).replaceAll("$__rate_interval", "1m").replaceAll("$client", ".*").replaceAll("$site", ".*").replaceAll("$host", hostname());
          const result = await prometheus.query(expr);
          if (file === "host-detail.json" && ["stat", "gauge"].includes(panel.type)) assert.ok(result.length, `${file} ${panel.title}: ${expr} is empty`);
        }
      }
    }
  });

  test("a scrape without the collector's token is refused", async () => {
    const up = await eventually(() => prometheus.query(`up{job="netmap-without-token"}`).then((r) => r[0]), "the tokenless scrape to have run");
    assert.equal(up.value[1], "0");
    assert.equal((await fetch(new URL("/metrics/hosts", collector.httpUrl))).status, 401);
  });
});

describe("promtool check metrics", () => {
  test("/metrics passes, and Prometheus scrapes it with the shipped job", async () => {
    const up = await eventually(() => prometheus.query(`up{job="netmap-collector"} == 1`).then((r) => r[0]), "the collector job to be up");
    assert.equal(up.value[1], "1");
    const { parsed, problems } = await promtoolCheckMetrics((await collector.get("/metrics")).body);
    assert.ok(parsed);
    assert.deepEqual(problems, []);
  });

  test("/metrics/hosts parses, and its only findings are node_exporter's own CamelCase memory names", async () => {
    const text = (await collector.get("/metrics/hosts")).body as string;
    assert.match(text, /^node_cpu_seconds_total\{/m);
    const { parsed, problems } = await promtoolCheckMetrics(text);
    assert.ok(parsed, problems.join("\n"));
    assert.deepEqual(problems.filter((line) => !NODE_EXPORTER_CAMEL_CASE.test(line)), []);
  });
});

test("a host that is down exports netmap_host_up 0 and no other sample", async () => {
  await stopAgent(agent);
  const db = openDatabase(database.url);
  try {
    await sql`UPDATE hosts SET received_at = now() - interval '1 hour'`.execute(db);
  } finally {
    await db.destroy();
  }
  const text = (await collector.get("/metrics/hosts")).body as string;
  const samples = text.split("\n").filter((line) => line && !line.startsWith("#"));
  assert.deepEqual(samples, [`netmap_host_up{instance=${JSON.stringify(hostname())}} 0`]);
});
