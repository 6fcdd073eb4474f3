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
import type { AlertsResponse, HostsResponse, SeriesResponse, SilencesResponse, SparklinesResponse } from "../../collector/src/http/api-types.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { deriveSlug } from "../../collector/src/topology/names.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { sparklineRuns } from "../../web/src/format.ts";
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
  await eventually(async () => (await fetch(`${baseUrl}/healthz`)).ok, "the collector to be healthy", 90_000);
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
  assert.equal(ssh, `netmap ssh acme/paris-dc1/${deriveSlug(hostname)}`);
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

  // The alert's transitions, under its row: it was pending for its `for`, then fired.
  await page.evaluate(`${row}.querySelector('[data-action=history]').click()`);
  const history = await page.waitFor<string[]>(`(() => { const li = [...document.querySelectorAll('[data-history="${fingerprint}"] li')].map((l) => l.textContent); return li.length >= 2 && li; })()`, "the alert's transitions");
  assert.match(history[0]!, /pending → firing/);
  assert.match(history.at(-1)!, /^\S.* pending \(value /);
  await shoot("alerts-history");
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

test("clients, sites and hosts named as people write them render everywhere, and the SSH command uses their slugs", async () => {
  const db = openDatabase(database.url);
  try {
    await importTopology(db, parseTopologyFile(readFileSync(join(root, "test/fixtures/topology/people-names.yaml"), "utf8")));
  } finally {
    await db.destroy();
  }
  const lab = (await api<HostsResponse>("/api/v1/hosts")).hosts.find((h) => h.hostname === 'lab "north"')!;
  // A new page load fetches the topology now rather than at the next 30 s refresh.
  await page.goto(`${baseUrl}/?names#host=${lab.id}`);
  await page.waitFor(`document.getElementById('host-title').textContent === 'lab "north"' && document.getElementById('host-body').textContent.includes('Paris DC "north"')`, "lab \"north\"'s page", 40_000);
  assert.equal(await page.waitFor<string>(`document.querySelector('.ssh-command')?.textContent`, "the SSH command"), "netmap ssh societe-generale/paris-dc-north/lab-n");
  const text = await page.evaluate<string>(`document.getElementById('host-body').textContent`);
  assert.match(text, /ClientSociété Générale/);
  assert.match(text, /SiteParis DC "north"/);
  assert.match(await page.waitFor<string>(`document.getElementById('host-body').textContent.includes('Passerelle n°1') && document.getElementById('host-body').textContent`, "the route through the bastion"), /Passerelle n°1 \(.*203\.0\.113\.10/);
  await shoot("host-names");

  await page.evaluate(`location.hash = 'view=hosts'`);
  const rows = await page.waitFor<string[]>(
    `(() => { const r = [...document.querySelectorAll('.host-row')].map((row) => row.querySelector('.hostname-text').textContent + ' @ ' + row.querySelector('.place').textContent); return r.some((x) => x.startsWith('Société @')) && r; })()`,
    "the hosts named as people write them",
  );
  assert.ok(rows.includes('Société @ Société Générale / Paris DC "north"'), rows.join("\n"));
  assert.ok(rows.includes('lab "north" @ Société Générale / Paris DC "north"'), rows.join("\n"));
  await shoot("hosts-names");

  await page.evaluate(`location.hash = 'view=map'`);
  const labels = await page.waitFor<string[]>(
    `(() => { const t = [...document.querySelectorAll('#map-wrap svg text')].map((e) => e.textContent); return t.includes('lab "north"') && t; })()`,
    "the map with the new hosts",
    40_000,
  );
  for (const label of ["Société Générale", 'Paris DC "north"', "Société", "Passerelle n°1"]) assert.ok(labels.includes(label), `${label} on the map: ${labels.join(", ")}`);
  await shoot("map-names");
});

test("the map closes a site with a click into one node counting its hosts, remembers it, and a search opens it again", async () => {
  const site = `#map-wrap svg a[data-toggle="societe-generale/paris-dc-north"]`;
  const click = (selector: string) => page.evaluate(`document.querySelector('${selector}').dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }))`);
  const closedNode = `[...document.querySelectorAll('${site}')].map((a) => [...a.querySelectorAll('text')].map((t) => t.textContent).join('|')).find((t) => t.includes('hosts'))`;
  const lab = (await api<HostsResponse>("/api/v1/hosts")).hosts.find((h) => h.hostname === 'lab "north"')!;
  await page.evaluate(`location.hash = 'view=map'`);
  await page.waitFor(`document.querySelector('${site}') && document.querySelector('#map-wrap svg a[data-host="${lab.id}"]')`, "the site drawn open");
  await click(site);
  assert.equal(await page.waitFor<string>(closedNode, "the site closed"), 'Paris DC "north"|3 hosts: 3 unknown');
  assert.equal(await page.evaluate(`document.querySelectorAll('#map-wrap svg a[data-host="${lab.id}"]').length`), 0, "its hosts are not drawn");
  const open = JSON.parse(await page.evaluate<string>(`localStorage.getItem('netmap.map.open')`)) as string[];
  assert.ok(open.includes("societe-generale") && open.includes("acme-corp/paris-dc1") && !open.includes("societe-generale/paris-dc-north"), open.join(", "));

  await page.goto(`${baseUrl}/?again#view=map`);
  assert.equal(await page.waitFor<string>(closedNode, "the site still closed after a reload", 40_000), 'Paris DC "north"|3 hosts: 3 unknown');
  await shoot("map-closed");
  await page.evaluate(`(() => { document.getElementById('map-query').value = 'lab "north"'; document.getElementById('map-search').requestSubmit(); })()`);
  await page.waitFor(`document.querySelector('#map-wrap .node.is-found a[data-host="${lab.id}"]')`, "the host found in its reopened site");
  assert.ok((JSON.parse(await page.evaluate<string>(`localStorage.getItem('netmap.map.open')`)) as string[]).includes("societe-generale/paris-dc-north"), "opened, and remembered open");

  // The keyboard: arrows pan and + zooms the focused map; Enter on a site closes it.
  const viewBox = () => page.evaluate<string>(`document.querySelector('#map-wrap svg').getAttribute('viewBox')`).then((v) => v.split(" ").map(Number));
  await page.evaluate(`document.getElementById('map-wrap').focus()`);
  const [x0, , w0] = await viewBox();
  await page.press("ArrowRight");
  assert.ok((await viewBox())[0]! > x0!, "ArrowRight pans right");
  await page.press("+");
  assert.ok((await viewBox())[2]! < w0!, "+ zooms in");
  await page.evaluate(`document.querySelector('${site}').focus()`);
  await page.press("Enter");
  assert.equal(await page.waitFor<string>(closedNode, "the site closed from the keyboard"), 'Paris DC "north"|3 hosts: 3 unknown');
});

test("the hosts list draws the CPU and memory sparklines the API gives, once the minute rollups hold the host's reports", async () => {
  // Housekeeping rolls each minute up 10 s after it ends, every minute.
  const line = await eventually(async () => {
    const body = await api<SparklinesResponse>("/api/v1/hosts/sparklines");
    return body.hosts[hostId]?.cpu.some((v) => v !== null) && body.hosts[hostId];
  }, "a minute of this host rolled up", 150_000);
  await page.goto(`${baseUrl}/?sparklines#view=hosts`);
  const drawn = await page.waitFor<string[][]>(
    `(() => { const row = document.querySelector('.host-row[data-id="${hostId}"]'); const s = row && [...row.querySelectorAll('.sparkline')]; return s?.length === 2 && s.map((svg) => [...svg.querySelectorAll('polyline')].map((p) => p.getAttribute('points'))); })()`,
    "the sparklines drawn",
  );
  // The page fetched its own copy a moment later: a minute may have been rolled up in between.
  const fresh = (await api<SparklinesResponse>("/api/v1/hosts/sparklines")).hosts[hostId]!;
  assert.ok([line, fresh].some((l) => JSON.stringify(drawn) === JSON.stringify([sparklineRuns(l.cpu), sparklineRuns(l.memory)])), JSON.stringify(drawn));
  await shoot("hosts-sparklines");
});

test("dark mode: every view follows prefers-color-scheme (screenshots *-dark.png)", async () => {
  const dark = (expression: string) => `(() => { const m = /rgba?\\((\\d+), (\\d+), (\\d+)/.exec(getComputedStyle(${expression}).backgroundColor); return m && (0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3]) < 60; })()`;
  await page.colorScheme("dark");
  try {
    await page.evaluate(`location.hash = 'view=hosts'`);
    await page.waitFor(`document.querySelector('.host-row') && ${dark("document.body")}`, "the hosts view in the dark scheme");
    await shoot("hosts-dark");
    await page.evaluate(`location.hash = 'host=${hostId}'`);
    await page.waitFor(`document.querySelector('figure[data-chart="cpu"]')?.chart`, "the host page's charts");
    await shoot("host-dark");
    await page.evaluate(`location.hash = 'view=alerts'`);
    await page.waitFor(`document.querySelector('.alert-row')`, "the alerts view");
    await shoot("alerts-dark");
    await page.evaluate(`location.hash = 'view=map'`);
    // The collector's dark palette: its background is #181b1f (topology/graph.ts).
    await page.waitFor(`document.querySelector('#map-wrap svg polygon[fill="#181b1f"]')`, "the map drawn in the dark palette", 40_000);
    await shoot("map-dark");
    await page.evaluate(`location.hash = 'view=hosts'`);
    await shoot("hosts-phone-dark", 390, 800);
  } finally {
    await page.colorScheme("light");
  }
});

test("no view logged a console error", () => {
  assert.deepEqual(page.errors, []);
});
