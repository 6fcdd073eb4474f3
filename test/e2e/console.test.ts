// The console in Chromium against a real agent → NATS → collector → PostgreSQL: every view
// renders real data, the host page charts what the series API returns, and acting on an alert
// from the page changes /api/v1/alerts. Screenshots of every view go to test-output/console/.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openDatabase } from "../../collector/src/db/database.ts";
import type { AlertsResponse, HostsResponse, SeriesResponse, SilencesResponse } from "../../collector/src/http/api-types.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { buildWeb } from "../../scripts/build-web.ts";
import { findChromium, launchChromium, type Browser, type BrowserPage } from "../helpers/chromium.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";

const root = new URL("../../", import.meta.url).pathname;
const SHOTS = join(root, "test-output", "console");
const TOKEN = "console-test-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const hostname = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
let nats: TestNatsServer;
let database: TestDatabase;
let dir: string;
let collector: ChildProcess;
let agent: ChildProcess;
let baseUrl: string;
let browser: Browser;
let page: BrowserPage;
let hostId: number;

function start(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (d) => (errors += d));
  child.once("exit", (code) => code && process.stderr.write(`${script} exited ${code}: ${errors}\n`));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

const api = async <T>(path: string): Promise<T> => (await (await fetch(`${baseUrl}${path}`, { headers: auth })).json()) as T;

async function shoot(name: string, width = 1280, height = 900): Promise<void> {
  writeFileSync(join(SHOTS, `${name}.png`), await page.screenshot(width, height));
}

before(async () => {
  await buildWeb();
  mkdirSync(SHOTS, { recursive: true });
  nats = await startNatsServer();
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "netmap-console-"));
  // Any mount past 1 % fires at once: a real alert to act on.
  writeFileSync(join(dir, "netmap.yaml"), "rules:\n  FilesystemAlmostFull:\n    warning: 1\n    critical: 99.9\n    for: 1s\n");
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  collector = start("collector/src/main.ts", ["serve", "--config", join(dir, "netmap.yaml")], {
    NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: `127.0.0.1:${port}`, NETMAP_GRPC_ADDR: "127.0.0.1:0", NETMAP_TOKEN: TOKEN,
  });
  await eventually(async () => (await fetch(`${baseUrl}/healthz`)).ok, "the collector to be healthy");
  // Two synthetic checks against the collector itself, for the host page's Checks panel.
  writeFileSync(join(dir, "agent.yaml"), `checks:\n  - { name: healthz, type: http, url: "${baseUrl}/healthz", interval: 1s, timeout: 1s }\n  - { name: closed, type: tcp, address: "127.0.0.1:1", interval: 1s, timeout: 1s }\n`);
  agent = start("agent/src/main.ts", ["--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, "spool"), "--config", join(dir, "agent.yaml")], {});
  const hosts = await eventually(async () => {
    const body = await api<HostsResponse>("/api/v1/hosts");
    return body.hosts.length === 1 && body.hosts[0]!.cpuPercent !== null && body.hosts;
  }, "the agent's second report", 20_000);
  hostId = hosts[0]!.id;
  // This machine placed in a topology behind a bastion, beside a declared host nothing monitors.
  const db = openDatabase(database.url);
  try {
    await importTopology(db, parseTopologyFile(`
clients:
  - name: acme
    sites:
      - name: paris-dc1
        bastion: gw1
        hosts:
          - name: gw1
            address: 192.0.2.1
          - name: ${hostname}
            address: 127.0.0.1
            labels: { role: test }
            agent_id: ${hosts[0]!.agentId}
`));
  } finally {
    await db.destroy();
  }
  // Placing the agent's host makes it the topology's row: its id is the placed host's now.
  hostId = await eventually(async () => (await api<HostsResponse>("/api/v1/hosts")).hosts.find((h) => h.hostname === hostname && h.agentId)?.id, "the placed host");
  await eventually(async () => (await api<AlertsResponse>("/api/v1/alerts")).alerts.some((a) => a.state === "firing"), "a firing alert", 20_000);
  browser = await launchChromium(findChromium()!);
  page = await browser.newPage();
  await page.goto(`${baseUrl}/#token=${TOKEN}`);
});

after(async () => {
  await browser?.close();
  await stop(agent);
  await stop(collector);
  await database?.drop();
  await nats?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the hosts view lists this machine under its client and site, and counts the declared host as unknown", async () => {
  await page.waitFor(`document.querySelector('.host-row .hostname-text')`, "the hosts table");
  await page.waitFor(`document.querySelector('.count-unknown .count-n').textContent === '1'`, "one unknown host counted", 40_000);
  assert.equal(await page.evaluate(`document.querySelector('.count-up .count-n').textContent`), "1");
  await page.evaluate(`(() => { const g = document.getElementById('group'); g.value = 'site'; g.dispatchEvent(new Event('change')); })()`);
  const group = await page.waitFor<string>(`document.querySelector('.group-row th')?.textContent`, "a group row");
  assert.match(group, /^acme \/ paris-dc1 — 2 hosts/);
  await shoot("hosts");
  await shoot("hosts-phone", 390, 800);
  // Sorting by host puts gw1 first; the filter by status keeps only the unknown one.
  await page.evaluate(`(() => { const s = document.getElementById('filter-status'); s.value = 'unknown'; s.dispatchEvent(new Event('change')); })()`);
  assert.deepEqual(await page.evaluate(`[...document.querySelectorAll('.host-row .hostname-text')].map((a) => a.textContent)`), ["gw1"]);
  await page.evaluate(`(() => { const s = document.getElementById('filter-status'); s.value = ''; s.dispatchEvent(new Event('change')); })()`);
});

test("the host page shows where the host sits, its SSH command, and a CPU chart holding the series API's points", async () => {
  await page.evaluate(`location.hash = 'host=${hostId}'`);
  const ssh = await page.waitFor<string>(`document.querySelector('.ssh-command')?.textContent`, "the SSH command", 40_000);
  assert.equal(ssh, `netmap ssh acme/paris-dc1/${hostname}`);
  const text = await page.evaluate<string>(`document.getElementById('host-body').textContent`);
  assert.match(text, /Clientacme/);
  assert.match(text, /Siteparis-dc1/);
  assert.match(text, /gw1 \(.*192\.0\.2\.1/, "the route goes through the bastion");
  assert.match(text, /role=test/);
  assert.doesNotMatch(text, /\bnull\b|Swap none/);
  const rows = await page.evaluate<string[]>(`[...[...document.querySelectorAll('#host-body table')].find((t) => t.querySelector('caption')?.textContent === 'Synthetic checks')?.querySelectorAll('tbody tr') ?? []].map((r) => [...r.cells].map((c) => c.textContent).join('|'))`);
  assert.equal(rows.length, 2, `the checks panel's rows: ${JSON.stringify(rows)}`);
  assert.match(rows[0]!, new RegExp(`^healthz\\|http\\|${baseUrl}/healthz\\|ok\\|200\\|\\d+ ms\\|—\\|`));
  assert.match(rows[1]!, /^closed\|tcp\|127\.0\.0\.1:1\|failing · .*ECONNREFUSED.*\|—\|—\|—\|/);

  const chart = await page.waitFor<{ from: string; to: string; xs: number[] }>(
    `(() => { const f = document.querySelector('figure[data-chart="cpu"]'); return f?.chart && { from: f.dataset.from, to: f.dataset.to, xs: [...f.chart.data[0]] }; })()`,
    "the CPU chart",
  );
  const series = await api<SeriesResponse>(`/api/v1/hosts/${hostId}/series?metric=cpu_mode_ratio&from=${chart.from}&to=${chart.to}`);
  const times = [...new Set(series.series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  assert.ok(chart.xs.length >= 1);
  // The agent reports every second: a report collected just before the chart's `to` may be stored
  // after the chart fetched its points. Every point the chart has is the API's, in order, and the
  // API has nothing more but such a late arrival.
  assert.deepEqual(times.slice(0, chart.xs.length), chart.xs);
  const late = times.slice(chart.xs.length);
  assert.ok(late.every((t) => t > Number(chart.to) - 5), `points older than the chart's last seconds are missing from it: ${late.join(", ")}`);

  // The checks' charts: one series per check; the closed port is down in every report and has no latency.
  const checkChart = (id: string) =>
    page.waitFor<{ labels: string[]; values: Array<Array<number | null>> }>(
      `(() => { const f = document.querySelector('figure[data-chart="${id}"]'); return f?.chart && { labels: f.chart.series.slice(1).map((s) => s.label), values: f.chart.data.slice(1).map((ys) => [...ys]) }; })()`,
      `the ${id} chart`,
    );
  const up = await checkChart("check-up");
  assert.deepEqual(up.labels, ["closed", "healthz"]);
  assert.deepEqual([...new Set(up.values[0]!.filter((v) => v !== null))], [0], "closed never succeeds");
  assert.ok(up.values[1]!.some((v) => v === 1), "healthz succeeds");
  const latency = await checkChart("check-latency");
  assert.deepEqual(latency.labels, ["healthz"]);
  assert.ok(latency.values[0]!.every((v) => v === null || (v > 0 && v < 5)), JSON.stringify(latency.values[0]));
  await shoot("host");
  await shoot("host-phone", 390, 1400);

  // A declared host nothing monitors: what NetMap knows, "unknown" where it knows nothing.
  const gw1 = (await api<HostsResponse>("/api/v1/hosts")).hosts.find((h) => h.hostname === "gw1")!;
  await page.evaluate(`location.hash = 'host=${gw1.id}'`);
  await page.waitFor(`document.getElementById('host-title').textContent === 'gw1' && document.getElementById('host-body').textContent.includes('paris-dc1')`, "gw1's page");
  const gwText = await page.evaluate<string>(`document.getElementById('host-body').textContent`);
  assert.match(gwText, /Address \(SSH\)192\.0\.2\.1/);
  assert.match(gwText, /Last reportunknown/);
  assert.doesNotMatch(gwText, /\bnull\b|Swap none/);
  await shoot("host-declared");
});

test("acknowledging, un-acknowledging and silencing from the alerts view change /api/v1/alerts and /api/v1/silences", async () => {
  await page.evaluate(`location.hash = 'view=alerts'`);
  const fingerprint = await page.waitFor<string>(`document.querySelector('.alert-row')?.dataset.fingerprint`, "an alert row");
  const row = `document.querySelector('.alert-row[data-fingerprint="${fingerprint}"]')`;
  await page.evaluate(`document.getElementById('who').value = 'e2e'`);
  await page.evaluate(`${row}.querySelector('[data-action=ack]').click()`);
  await page.waitFor(`${row}?.querySelector('[data-action=unack]')`, "the alert shown acknowledged");
  const acked = (await api<AlertsResponse>("/api/v1/alerts")).alerts.find((a) => a.fingerprint === fingerprint)!;
  assert.equal(acked.acknowledged?.by, "e2e");

  await page.evaluate(`${row}.querySelector('[data-action=unack]').click()`);
  await page.waitFor(`${row}?.querySelector('[data-action=ack]')`, "the alert shown unacknowledged");
  assert.equal((await api<AlertsResponse>("/api/v1/alerts")).alerts.find((a) => a.fingerprint === fingerprint)!.acknowledged, null);

  await page.evaluate(`${row}.querySelector('[data-action=silence]').click()`);
  const matchers = await page.waitFor<string>(`document.getElementById('silence-dialog').open && document.getElementById('silence-matchers').value`, "the silence form");
  assert.match(matchers, /^alertname=FilesystemAlmostFull$/m);
  assert.match(matchers, new RegExp(`^host=${hostname}$`, "m"));
  await shoot("alerts-silence-form");
  await page.evaluate(`(() => { document.getElementById('silence-duration').value = '14400'; document.getElementById('silence-comment').value = 'disk work'; document.getElementById('silence-form').requestSubmit(); })()`);
  await page.waitFor(`document.querySelector('[data-silence] [data-action=expire]')`, "the silence listed");
  const [silence] = (await api<SilencesResponse>("/api/v1/silences")).silences;
  assert.equal(silence!.comment, "disk work");
  assert.equal(silence!.createdBy, "e2e");
  assert.equal(Math.round((Date.parse(silence!.endsAt) - Date.parse(silence!.startsAt)) / 1000), 14400);
  await shoot("alerts");

  await page.evaluate(`document.querySelector('[data-silence] [data-action=expire]').click()`);
  await page.waitFor(`!document.querySelector('[data-silence] [data-action=expire]')`, "the silence expired");
  assert.equal((await api<SilencesResponse>("/api/v1/silences")).silences.find((s) => s.id === silence!.id)?.status?.state, "expired");
});

test("the map is drawn in the page, finds a host by name, and links to its page", async () => {
  await page.evaluate(`location.hash = 'view=map'`);
  await page.waitFor(`document.querySelector('#map-wrap svg a[data-host="${hostId}"]')`, "the map drawn with this host");
  assert.equal(await page.evaluate(`document.querySelectorAll('#map-wrap script, #map-wrap foreignObject').length`), 0);
  const before = await page.evaluate<string>(`document.querySelector('#map-wrap svg').getAttribute('viewBox')`);
  await page.evaluate(`(() => { document.getElementById('map-query').value = ${JSON.stringify(hostname)}; document.getElementById('map-search').requestSubmit(); })()`);
  await page.waitFor(`document.querySelector('#map-wrap .node.is-found')`, "the host highlighted");
  assert.notEqual(await page.evaluate(`document.querySelector('#map-wrap svg').getAttribute('viewBox')`), before, "the view moved to the host");
  assert.match(await page.evaluate<string>(`document.querySelector('#map-wrap a[data-host="${hostId}"]').getAttribute('class')`), /status-up/);
  await shoot("map");
  await page.evaluate(`document.querySelector('#map-wrap a[data-host="${hostId}"]').dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }))`);
  await page.waitFor(`location.hash === '#host=${hostId}'`, "the host page from the map");
});

test("no view logged a console error", () => {
  assert.deepEqual(page.errors, []);
});
