// The whole spine, as separate processes: netmap-agent on this machine → a
// private NATS JetStream → `netmap serve` → PostgreSQL → HTTP → the status page in Chromium.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { findChromium, launchChromium } from "../helpers/chromium.ts";
import { eventually } from "../helpers/wait.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const root = new URL("../../", import.meta.url).pathname;
let nats: TestNatsServer;
let database: TestDatabase;
let collector: ChildProcess;
let agent: ChildProcess;
let spoolDir: string;
let baseUrl: string;
const TOKEN = "e2e-test-token";
const withToken = { headers: { authorization: `Bearer ${TOKEN}` } };
const chromium = findChromium();

function start(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  child.once("exit", (code, signal) => {
    if (code && code !== 0) process.stderr.write(`${script} exited ${code ?? signal}:\n${output}\n`);
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<number | null> {
  if (!child || child.exitCode !== null) return child?.exitCode ?? null;
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

before(async () => {
  nats = await startNatsServer();
  database = await createTestDatabase();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  spoolDir = mkdtempSync(join(tmpdir(), "netmap-agent-"));
  collector = start("collector/src/main.ts", ["serve"], {
    NETMAP_NATS_URL: nats.url,
    NETMAP_DATABASE_URL: database.url,
    NETMAP_HTTP_ADDR: `127.0.0.1:${port}`,
    // A free gRPC port and a token of its own: no clash with a collector on 7071, no token file written.
    NETMAP_GRPC_ADDR: "127.0.0.1:0",
    NETMAP_TOKEN: TOKEN,
  });
  await eventually(async () => (await fetch(`${baseUrl}/healthz`)).ok, "the collector to be healthy");
  agent = start("agent/src/main.ts", ["--nats", nats.url, "--interval", "1s", "--spool-dir", spoolDir], {});
});

after(async () => {
  await stop(agent);
  await stop(collector);
  await database?.drop();
  await nats?.close();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

test("this machine appears on the status page's API with its real MemTotal and its / mount", async () => {
  const hosts = await eventually(async () => {
    const body = (await (await fetch(`${baseUrl}/api/v1/hosts`, withToken)).json()) as { hosts: any[] };
    return body.hosts.length === 1 && body.hosts[0].cpuPercent !== null && body.hosts;
  }, "the agent's second report (with CPU %) to be stored", 20_000);
  const [summary] = hosts;
  assert.equal(summary.status, "up");
  assert.equal(summary.hostname, readFileSync("/proc/sys/kernel/hostname", "utf8").trim());

  const { host } = (await (await fetch(`${baseUrl}/api/v1/hosts/${summary.id}`, withToken)).json()) as { host: any };
  const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
  assert.equal(host.memory.totalBytes, memTotalKiB * 1024);

  const rootMount = host.mounts.find((m: { mountpoint: string }) => m.mountpoint === "/");
  assert.ok(rootMount, `no / mount among ${host.mounts.map((m: { mountpoint: string }) => m.mountpoint).join(", ")}`);
  const fs = statfsSync("/");
  assert.equal(rootMount.sizeBytes, fs.blocks * fs.bsize);
  assert.ok(rootMount.usedPercent > 0 && rootMount.usedPercent < 100);
  assert.ok(host.cpu.logicalCores >= 1);

  const page = await fetch(`${baseUrl}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<table/);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/, "no inline script may run");
  assert.equal((await fetch(`${baseUrl}/api/v1/hosts`)).status, 401, "the API, unlike the page, needs the token");
});

test("the status page asks for the token, keeps it for the tab, signs out, and takes it from a #token= link", async () => {
  assert.ok(chromium, "chromium is not installed (apt-get install chromium; .ci/run installs it)");
  const hostname = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
  const browser = await launchChromium(chromium!);
  try {
    const page = await browser.newPage();
    const signinShown = `!document.getElementById('signin').hidden && getComputedStyle(document.getElementById('main')).display === 'none'`;
    const firstHost = `document.querySelector('.host-row .hostname-text')?.textContent`;
    const submit = (token: string) =>
      page.evaluate(`(() => { document.getElementById('token-input').value = ${JSON.stringify(token)}; document.getElementById('signin-form').requestSubmit(); })()`);

    // No token yet: the form, and no host data behind it.
    await page.goto(`${baseUrl}/`);
    await page.waitFor(signinShown, "the sign-in form");
    assert.equal(await page.evaluate(`document.querySelectorAll('.host-row').length`), 0);

    // A wrong token is refused by the collector, and the form asks again, saying why.
    await submit("not-the-token");
    const why = await page.waitFor<string>(`!document.getElementById('signin-error').hidden && document.getElementById('signin-error').textContent`, "the refusal");
    assert.match(why, /refused this token/);
    assert.equal(await page.evaluate(`sessionStorage.getItem('netmap.token')`), null, "a refused token is not kept");

    // The right one: the hosts, and the token kept for this tab.
    await submit(TOKEN);
    assert.equal(await page.waitFor(firstHost, "the host table"), hostname);
    // The agent's version in its row, as its report names it.
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(await page.evaluate(`document.querySelector('.host-row .agent-version')?.textContent`), version);
    assert.equal(await page.evaluate(`sessionStorage.getItem('netmap.token')`), TOKEN);
    assert.equal(await page.evaluate(`document.getElementById('signout').hidden`), false);

    // The map, fetched with the token, is drawn into the page.
    await page.waitFor(`!document.getElementById('tab-map').hidden`, "the Map tab");
    await page.evaluate(`document.getElementById('tab-map').click()`);
    await page.waitFor(`document.querySelector('#map-wrap svg')`, "the map drawn");

    // A reload keeps the token; signing out forgets it.
    await page.goto(`${baseUrl}/`);
    assert.equal(await page.waitFor(firstHost, "the host table after a reload"), hostname);
    await page.evaluate(`document.getElementById('signout').click()`);
    await page.waitFor(`${signinShown} && sessionStorage.getItem('netmap.token') === null`, "the sign-in form after signing out");

    // The link npm start prints: the token leaves the address bar, the rest of the fragment stays.
    await page.goto("about:blank");
    await page.goto(`${baseUrl}/#view=alerts&token=${TOKEN}`);
    await page.waitFor(`document.getElementById('tab-alerts').getAttribute('aria-selected') === 'true' && document.querySelector('#alert-list p, #alert-list table')`, "the alerts view, signed in");
    assert.equal(await page.evaluate(`location.href`), `${baseUrl}/#view=alerts`);
    assert.equal(await page.evaluate(`sessionStorage.getItem('netmap.token')`), TOKEN);
  } finally {
    await browser.close();
  }
});

test("the agent drains on SIGTERM and exits 0", async () => {
  assert.equal(await stop(agent), 0);
});
