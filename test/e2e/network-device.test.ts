// A network device's host page in Chromium: `netmap serve` sweeps two real snmpd + lldpd devices
// cabled together in network namespaces; the page of one shows the device, its interfaces, its
// LLDP neighbour linking to the other's page, and interface charts holding the series API's
// points. A screenshot goes to test-output/console/host-network-device.png.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { HostsResponse, SeriesResponse } from "../../collector/src/http/api-types.ts";
import { buildWeb } from "../../scripts/build-web.ts";
import { findChromium, launchChromium, type Browser, type BrowserPage } from "../helpers/chromium.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { createSnmpLab, SNMP_COMMUNITY, type SnmpLab } from "../helpers/snmp-lab.ts";
import { eventually } from "../helpers/wait.ts";

const root = new URL("../../", import.meta.url).pathname;
const SHOTS = join(root, "test-output", "console");
const TOKEN = "network-device-test-token";
const auth = { authorization: `Bearer ${TOKEN}` };
let lab: SnmpLab;
let nats: TestNatsServer;
let database: TestDatabase;
let dir: string;
let collector: ChildProcess;
let baseUrl: string;
let browser: Browser;
let page: BrowserPage;

const api = async <T>(path: string): Promise<T> => (await (await fetch(`${baseUrl}${path}`, { headers: auth })).json()) as T;

before(async () => {
  await buildWeb();
  mkdirSync(SHOTS, { recursive: true });
  lab = await createSnmpLab({ devices: 2, links: [[1, 2]], lldp: true });
  nats = await startNatsServer();
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "netmap-network-device-"));
  writeFileSync(join(dir, "community"), SNMP_COMMUNITY, { mode: 0o600 });
  writeFileSync(join(dir, "netmap.yaml"), `snmp:\n  - { name: lab, targets: [${lab.devices.map((d) => d.address).join(", ")}], version: 2c, community_file: ${join(dir, "community")}, interval: 1s, timeout: 500ms, client: acme, site: lab }\n`);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  collector = spawn(process.execPath, [join(root, "collector/src/main.ts"), "serve", "--config", join(dir, "netmap.yaml")], {
    env: { ...process.env, NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: `127.0.0.1:${port}`, NETMAP_GRPC_ADDR: "127.0.0.1:0", NETMAP_TOKEN: TOKEN },
    stdio: "ignore",
  });
  await eventually(async () => (await fetch(`${baseUrl}/healthz`).catch(() => null))?.ok, "the collector to be healthy", 30_000);
  browser = await launchChromium(findChromium()!);
  page = await browser.newPage();
  await page.goto(`${baseUrl}/#token=${TOKEN}`);
});

after(async () => {
  await browser?.close();
  if (collector && collector.exitCode === null) {
    const exited = new Promise((r) => collector.once("exit", r));
    collector.kill("SIGTERM");
    await exited;
  }
  await database?.drop();
  await nats?.close();
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a network device's page shows the device, its interfaces, its LLDP neighbour's link and interface charts", async () => {
  const hosts = await eventually(async () => {
    const body = await api<HostsResponse>("/api/v1/hosts");
    return body.hosts.length === 2 && body.hosts.every((h) => h.status === "up") && body.hosts;
  }, "two devices up", 30_000);
  const dev1 = hosts.find((h) => h.hostname === "dev1")!;
  const dev2 = hosts.find((h) => h.hostname === "dev2")!;
  const link = lab.links[0]!;
  await page.evaluate(`location.hash = 'host=${dev1.id}'`);
  await page.waitFor(`document.getElementById('host-body')?.textContent.includes('Network device (SNMP)') && document.getElementById('host-body').textContent.includes('${link.a.ifname}')`, "the device's page", 40_000);
  // The neighbour appears once LLDP has been heard and a sweep stored it.
  const href = await page.waitFor<string>(`[...document.querySelectorAll('#host-body a')].find((a) => a.textContent === 'dev2')?.getAttribute('href')`, "the LLDP neighbour linked", 40_000);
  assert.equal(href, `#host=${dev2.id}`);
  const text = await page.evaluate<string>(`document.getElementById('host-body').textContent`);
  assert.match(text, /Namedev1/);
  assert.match(text, /Answersyes/);
  assert.match(text, new RegExp(`${link.a.ifname}up10 Gb/s`));
  assert.doesNotMatch(text, /\bnull\b|undefined|NaN/);
  assert.match(await page.evaluate<string>(`document.getElementById('host-meta').textContent`), /polled over SNMP/);

  const chart = await page.waitFor<{ from: string; to: string; xs: number[] }>(
    `(() => { const f = document.querySelector('figure[data-chart="if-up"]'); return f?.chart && f.chart.data[0].length > 0 && { from: f.dataset.from, to: f.dataset.to, xs: [...f.chart.data[0]] }; })()`,
    "the interfaces' time-up chart", 40_000,
  );
  const series = await api<SeriesResponse>(`/api/v1/hosts/${dev1.id}/series?metric=interface_up_ratio&from=${chart.from}&to=${chart.to}`);
  assert.equal(series.source, "snmp");
  const times = [...new Set(series.series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  assert.ok(times.length >= 1);
  assert.deepEqual(chart.xs, times);
  writeFileSync(join(SHOTS, "host-network-device.png"), await page.screenshot(1280, 1400));
});
