// npm run bench:web — time to a usable hosts view and to a drawn map with 2,000 hosts, in
// Debian's Chromium, against a collector (`serve`, in this process) on a fresh database.
//
// The hosts are synthetic but stored as the real ones are: a topology of BENCH_CLIENTS
// clients × BENCH_SITES sites (names with spaces and accents), every host attached to an
// agent whose report is stored through the ingest path, so each has its latest state and a
// status. Each round loads the console in a fresh tab and measures, in the page (from its
// navigation start), when the hosts table holds every host with its client and site, then
// switches to the map and measures until it is drawn (past 300 hosts the console starts every
// client closed, one node counting its hosts; BENCH_OPEN=1 opens them all first). The
// reference of the same run is the API alone: GET /api/v1/hosts, /api/v1/topology and
// /api/v1/topology.svg from Node, which the page cannot beat.
import pino from "pino";
import { loadCollectorConfig } from "../collector/src/config.ts";
import { migrateToLatest, openDatabase } from "../collector/src/db/database.ts";
import { storeBatch } from "../collector/src/ingest/store.ts";
import { serve } from "../collector/src/serve.ts";
import type { Topology, TopologyHost } from "../collector/src/topology/model.ts";
import { deriveSlug } from "../collector/src/topology/names.ts";
import { importTopology } from "../collector/src/topology/repository.ts";
import { buildWeb } from "../scripts/build-web.ts";
import { findChromium, launchChromium } from "../test/helpers/chromium.ts";
import { startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { sampleReport } from "../test/helpers/reports.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const SITES = Number(process.env.BENCH_SITES ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const OPEN = process.env.BENCH_OPEN === "1";
const TOKEN = "bench-web";

function syntheticTopology(): Topology {
  const perSite = Math.ceil(HOSTS / (CLIENTS * SITES));
  let n = 0;
  const clients: Topology["clients"] = [];
  for (let c = 0; c < CLIENTS && n < HOSTS; c++) {
    const sites = [];
    for (let s = 0; s < SITES && n < HOSTS; s++) {
      const hosts: TopologyHost[] = [];
      for (let h = 0; h < perSite && n < HOSTS; h++, n++) {
        hosts.push({
          name: `host ${n}`, kind: h === 0 ? "hypervisor" : "server", address: `10.${c}.${s}.${h + 1}`, ssh: { user: null, port: 22 },
          // The first host of a site is its bastion; every tenth is a guest of the site's hypervisor.
          via: null, parent: h > 0 && h % 10 === 0 ? `host ${n - h}` : null, labels: { role: h % 2 ? "web" : "db" }, source: "person", agentId: `bench-${n}`,
        });
      }
      sites.push({ name: `Site ${s} "é"`, bastion: hosts[0]!.name, hosts });
    }
    clients.push({ name: `Client ${c} Société`, sites });
  }
  return { clients };
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${Math.round(value)} ms`;

async function timed(url: string): Promise<number> {
  const start = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return performance.now() - start;
}

const chromium = findChromium();
if (!chromium) throw new Error("bench:web needs Chromium (apt-get install chromium)");
await buildWeb();
const nats = await startNatsServer();
const database = await createTestDatabase();
try {
  const db = openDatabase(database.url);
  await migrateToLatest(db);
  const seedStart = performance.now();
  const topology = syntheticTopology();
  await importTopology(db, topology);
  for (let i = 0; i < HOSTS; i += 250) {
    const batch = Array.from({ length: Math.min(250, HOSTS - i) }, (_, k) => ({
      report: sampleReport({ agentId: `bench-${i + k}`, hostname: `host-${i + k}`, seq: 1 }),
      receivedAt: new Date(),
    }));
    await storeBatch(db, batch);
  }
  await db.destroy();
  console.log(`seeded ${HOSTS} hosts in ${CLIENTS} clients × ${SITES} sites in ${ms(performance.now() - seedStart)}`);

  const config = loadCollectorConfig({ env: { NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: "127.0.0.1:0", NETMAP_GRPC_ADDR: "127.0.0.1:0", NETMAP_TOKEN: TOKEN } });
  // Hosts stay "up" for the whole run: the bench measures drawing, not staleness.
  const collector = await serve({ ...config, staleAfterSeconds: 3600, downAfterSeconds: 7200 }, pino({ level: "warn" }));
  const base = collector.httpUrl.replace(/\/$/, "");
  const browser = await launchChromium(chromium);
  const rows: Array<{ hosts: number; map: number; apiHosts: number; apiTopology: number; apiSvg: number }> = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const apiHosts = await timed(`${base}/api/v1/hosts`);
      const apiTopology = await timed(`${base}/api/v1/topology`);
      const apiSvg = await timed(`${base}/api/v1/topology.svg?theme=light`);
      const page = await browser.newPage();
      await page.goto(`${base}/?round=${round}#token=${TOKEN}`);
      // Usable: every host listed, with its client and site (the topology arrived), and counted.
      const hosts = await page.evaluate<number>(`new Promise((resolve) => {
        const ready = () => document.querySelectorAll('.host-row').length === ${HOSTS}
          && document.querySelector('.host-row .place')?.textContent.includes('Société')
          && document.querySelector('.count-up .count-n')?.textContent === '${HOSTS}';
        const poll = () => ready() ? resolve(performance.now()) : requestAnimationFrame(poll);
        poll();
      })`);
      const openKeys = topology.clients.flatMap((c) => [deriveSlug(c.name), ...c.sites.map((s) => `${deriveSlug(c.name)}/${deriveSlug(s.name)}`)]);
      await page.evaluate(OPEN ? `localStorage.setItem('netmap.map.open', ${JSON.stringify(JSON.stringify(openKeys))})` : `localStorage.removeItem('netmap.map.open')`);
      const map = await page.evaluate<number>(`new Promise((resolve) => {
        const start = performance.now();
        location.hash = 'view=map';
        // Drawn: every client on screen, closed (one node each) as the console starts them past
        // 300 hosts; or every host, all open.
        const ready = () => ${OPEN ? `document.querySelectorAll('#map-wrap svg a[data-host]').length === ${HOSTS}` : `document.querySelectorAll('#map-wrap svg a[data-toggle]').length === ${CLIENTS}`};
        const poll = () => ready() ? requestAnimationFrame(() => resolve(performance.now() - start)) : setTimeout(poll, 5);
        poll();
      })`);
      if (page.errors.length) throw new Error(`console errors: ${page.errors.join("; ")}`);
      // A console left open keeps refreshing every 5 s and would slow the next round down.
      await page.goto("about:blank");
      rows.push({ hosts, map, apiHosts, apiTopology, apiSvg });
      console.log(`round ${round + 1}: hosts view usable ${ms(hosts)} after navigation, map drawn ${ms(map)} after switching to it; API alone: hosts ${ms(apiHosts)}, topology ${ms(apiTopology)}, SVG ${ms(apiSvg)}`);
    }
  } finally {
    await browser.close();
    await collector.stop();
  }
  const pick = (key: keyof (typeof rows)[number]) => ms(median(rows.map((r) => r[key])));
  console.log(`\n| hosts | hosts view usable | map drawn (${OPEN ? "all open" : "clients closed"}) | reference: GET /api/v1/hosts | GET /api/v1/topology | GET /api/v1/topology.svg (all open) |`);
  console.log(`|---|---|---|---|---|---|`);
  console.log(`| ${HOSTS} | ${pick("hosts")} | ${pick("map")} | ${pick("apiHosts")} | ${pick("apiTopology")} | ${pick("apiSvg")} |`);
  console.log(`(medians of ${ROUNDS} rounds)`);
} finally {
  await database.drop();
  await nats.close();
}
