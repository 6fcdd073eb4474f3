// The host page's containers panel in Chromium, from a real Podman through a real agent →
// NATS → collector → PostgreSQL: each container's name, image, state (an exited one first,
// with its exit code), and the CPU and memory the agent read from its cgroup.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { HostsResponse } from "../../collector/src/http/api-types.ts";
import { buildWeb } from "../../scripts/build-web.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { findChromium, launchChromium, type Browser, type BrowserPage } from "../helpers/chromium.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { BUSYBOX_IMAGE } from "../helpers/dockerd.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { startPodman, type TestPodman } from "../helpers/podman.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
let podman: TestPodman;
let nats: TestNatsServer;
let database: TestDatabase;
let collector: TestCollector;
let agent: RunningAgent;
let browser: Browser;
let page: BrowserPage;
let dir: string;
let hostId: number;

before(async () => {
  await buildWeb();
  podman = await startPodman();
  for (const [name, cmd] of [["busy", ["/bin/sh", "-c", "while :; do :; done"]], ["done", ["/bin/sh", "-c", "exit 3"]]] as const) {
    assert.equal((await podman.api("POST", `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, Cmd: cmd })).status, 201);
    assert.equal((await podman.api("POST", `/containers/${name}/start`)).status, 204);
  }
  await eventually(async () => (await podman.api("GET", "/containers/done/json")).body.State.Status === "exited", "done exited");
  nats = await startNatsServer();
  database = await createTestDatabase();
  collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
  dir = mkdtempSync(join(tmpdir(), "netmap-containers-panel-"));
  agent = startAgentProcess(process.execPath, [main, "--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, "spool")], {
    env: { ...process.env, NETMAP_CONTAINERS: podman.socket, NETMAP_LOG_LEVEL: "warn" },
  });
  // The second report onwards carries a CPU rate for the busy container.
  hostId = await eventually(async () => {
    const host = (await collector.get("/api/v1/hosts")).body as HostsResponse;
    // The agent's own host; each container it lists is a host of its own too (docs/containers.md).
    const id = host.hosts.find((h) => h.agentId)?.id;
    if (id === undefined) return undefined;
    const detail = (await collector.get(`/api/v1/hosts/${id}`)).body.host;
    return detail.containers.find((c: { name: string; cpuPercent?: number }) => c.name === "busy" && (c.cpuPercent ?? 0) > 0) && id;
  }, withLog("a report with the busy container's CPU", () => agent.stderr()), 60_000);
  browser = await launchChromium(findChromium()!);
  page = await browser.newPage();
  await page.goto(`${collector.httpUrl}#token=${collector.token}`);
});

after(async () => {
  await browser?.close();
  if (agent) await stopAgent(agent);
  await collector?.stop();
  await podman?.stop();
  await database?.drop();
  await nats?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the containers panel lists the exited container first, then the running one with its CPU and memory", async () => {
  await page.evaluate(`location.hash = 'host=${hostId}'`);
  const panel = await page.waitFor<{ title: string; rows: string[][] }>(`(() => {
    const table = [...document.querySelectorAll('#host-body table')].find((t) => t.querySelector('caption')?.textContent === 'Containers');
    return table && { title: table.closest('section').querySelector('h3, h2').textContent, rows: [...table.querySelectorAll('tbody tr')].map((r) => [...r.cells].map((c) => c.textContent)) };
  })()`, "the containers panel", 40_000);
  assert.equal(panel.title, "Containers (2, podman)");
  const [done, busy] = panel.rows;
  assert.deepEqual(done!.slice(0, 5), ["done", `localhost/${BUSYBOX_IMAGE}`, "exited (3)", "—", "0"]);
  assert.deepEqual([done![7], done![8]], ["—", "—"], "no figures for a run that has ended");
  assert.deepEqual(busy!.slice(0, 3), ["busy", `localhost/${BUSYBOX_IMAGE}`, "running"]);
  assert.match(busy![7]!, /^\d+(\.\d+)? ?%$/, `CPU ${busy![7]}`);
  assert.match(busy![8]!, /^[\d.]+ ?[KMG]i?B \/ [\d.]+ ?[KMG]i?B$/, `memory ${busy![8]}`);
  const cls = await page.evaluate<string>(`[...document.querySelectorAll('#host-body table')].find((t) => t.querySelector('caption')?.textContent === 'Containers').querySelector('tbody tr td:nth-of-type(2)').className`);
  assert.equal(cls, "level-crit", "an exited container's state is marked");
});
