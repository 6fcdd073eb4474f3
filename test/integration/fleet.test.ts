// Acting on hosts through their bastion chains (network namespaces, real sshd; each host's
// sshd has the host's name as hostname): `netmap container` restarts, stops, starts and reads
// the logs of a container of a real dockerd on the target, through bastion1 and bastion2 with
// the docker CLI at the socket the target's agent reported; `netmap run` runs one command on
// a site's hosts, in parallel, a host that times out reported as such while the others succeed.
// Each action is in the audit trail.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { encodeReport } from "../../proto/src/codec.ts";
import { reportSubject } from "../../proto/src/subjects.ts";
import { buildWeb } from "../../scripts/build-web.ts";
import { findChromium, launchChromium, type Browser } from "../helpers/chromium.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { BUSYBOX_IMAGE, startDockerd, type TestDockerd } from "../helpers/dockerd.ts";
import { createSshChain, netnsUnavailable, type SshChain } from "../helpers/netns.ts";
import { eventually } from "../helpers/wait.ts";

const run = promisify(execFile);
const AGENT = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const AGENT_ID = "fleet-target";

describe("container control and netmap run through the bastion chain", () => {
  let chain: SshChain;
  let dockerd: TestDockerd;
  let bed: CliTestbed;
  let env: Record<string, string>;

  const netmap = (...args: string[]) => bed.netmap(args, env, 90_000);
  const startedAt = async () => (await dockerd.api("GET", "/containers/web/json")).body.State.StartedAt as string;
  const audit = async (action: string) =>
    ((await bed.collector.get("/api/v1/audit")).body.events as Array<{ action: string; target: string; outcome: string }>).filter((e) => e.action === action).map((e) => e.target);

  before(async () => {
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the SSH test hosts: ${unavailable}`);
    chain = await createSshChain();
    dockerd = await startDockerd();
    // The console the collector serves is the bundle built before it starts.
    await buildWeb();
    bed = await startCliTestbed();
    env = { SSH_AUTH_SOCK: chain.authSocket, NETMAP_KNOWN_HOSTS: join(chain.dir, "netmap", "known_hosts") };
    // The collector runs in this process: its SSH identity (for the console's actions) is this process's agent and NetMap known_hosts.
    Object.assign(process.env, env);
    const created = await dockerd.api("POST", "/containers/create?name=web", { Image: BUSYBOX_IMAGE, Cmd: ["/bin/sh", "-c", "echo hello from web; exec sleep 1000"] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await dockerd.api("POST", "/containers/web/start")).status, 204);

    // The chain's hosts, the target with its agent, bastion2 and the target labelled role=app.
    const file = join(chain.dir, "topology.yaml");
    writeFileSync(
      file,
      chain.topologyYaml
        .replace("          - name: bastion2\n", "          - name: bastion2\n            labels: { role: app }\n")
        .replace("          - name: target\n", `          - name: target\n            agent_id: ${AGENT_ID}\n            labels: { role: app }\n`),
    );
    const imported = await netmap("import", file);
    assert.equal(imported.code, 0, imported.stderr);

    // The target's agent lists the daemon's containers (the daemon runs here; its socket is a file every namespace sees).
    const { stdout } = await run(process.execPath, [AGENT, "--once", "--json", "--agent-id", AGENT_ID], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: dockerd.socket } });
    const report = HostReport.fromJSON(JSON.parse(stdout));
    report.collectedAt = new Date();
    const nc: NatsConnection = await connect({ servers: bed.nats.url });
    await nc.publish(reportSubject(AGENT_ID), encodeReport(report));
    await nc.close();
    await eventually(async () => {
      const sites = (await bed.collector.get("/api/v1/topology")).body.topology.clients.find((c: { name: string }) => c.name === "lab")?.sites ?? [];
      return sites[0]?.hosts.some((h: { name: string; parent: string }) => h.name === "web" && h.parent === "target");
    }, "web under target", 30_000);
  });

  after(async () => {
    await bed?.close();
    await dockerd?.stop();
    await chain?.close();
  });

  test("netmap container restart restarts it through both bastions (its start time changes)", async () => {
    const before = await startedAt();
    const restarted = await netmap("container", "restart", "target/web");
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(restarted.stdout, "restarted lab/ns/target/web\n");
    const after = await startedAt();
    assert.notEqual(after, before);
    assert.ok(Date.parse(after) > Date.parse(before), `${after} after ${before}`);
    assert.equal((await dockerd.api("GET", "/containers/web/json")).body.State.Running, true);
    assert.deepEqual(await audit("container_action"), ["lab/ns/target/web restart ok"]);
  });

  test("netmap container logs shows what it printed, the last N lines with --lines", async () => {
    const logs = await netmap("container", "logs", "lab/ns/target/web");
    assert.equal(logs.code, 0, logs.stderr);
    // Once per start: before and after the restart.
    assert.equal(logs.stdout, "hello from web\nhello from web\n");
    const last = await netmap("container", "logs", "ns/target/web", "--lines", "1");
    assert.equal(last.code, 0, last.stderr);
    assert.equal(last.stdout, "hello from web\n");
  });

  test("netmap container stop and start; an unknown container or a bad name is refused before anything runs", async () => {
    const stopped = await netmap("container", "stop", "target/web");
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await dockerd.api("GET", "/containers/web/json")).body.State.Running, false);
    const started = await netmap("container", "start", "target/web");
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await dockerd.api("GET", "/containers/web/json")).body.State.Running, true);

    const unknown = await netmap("container", "restart", "target/nosuch");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no container "nosuch" on lab\/ns\/target/);
    const hostile = await netmap("container", "restart", "target/web;reboot");
    assert.equal(hostile.code, 2);
    assert.match(hostile.stderr, /expected HOST\/NAME/);
    assert.deepEqual(await audit("container_action"), ["lab/ns/target/web restart ok", "lab/ns/target/web logs started", "lab/ns/target/web logs started", "lab/ns/target/web stop ok", "lab/ns/target/web start ok"]);
  });

  test("the console's restart: the collector carries it out over SSH through the chain, as an operator, audited", async () => {
    const hosts = (await bed.collector.get("/api/v1/topology")).body.topology.clients.find((c: { name: string }) => c.name === "lab").sites[0].hosts as Array<{ id: number; name: string }>;
    const idOf = (name: string) => hosts.find((h) => h.name === name)!.id;
    const before = await startedAt();
    const response = await bed.collector.fetch(`/api/v1/hosts/${idOf("web")}/container/restart`, { method: "POST" });
    const body = (await response.json()) as { result: { container: string; action: string; output: string } };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual([body.result.container, body.result.action, body.result.output], ["lab/ns/target/web", "restart", "web\n"]);
    assert.ok(Date.parse(await startedAt()) > Date.parse(before), "restarted");
    assert.equal((await bed.collector.fetch(`/api/v1/hosts/${idOf("web")}/container/reboot`, { method: "POST" })).status, 400);
    assert.equal((await bed.collector.fetch(`/api/v1/hosts/${idOf("target")}/container/stop`, { method: "POST" })).status, 404, "the target is no container");
    assert.equal((await dockerd.api("GET", "/containers/web/json")).body.State.Running, true, "nothing was stopped");
    const entries = ((await bed.collector.get("/api/v1/audit")).body.events as Array<{ action: string; target: string; outcome: string; transport: string }>)
      .filter((e) => e.transport === "http" && e.action === "container_action").map((e) => [e.target, e.outcome]);
    assert.deepEqual(entries, [[`${idOf("web")} restart`, "ok"], [`${idOf("web")} reboot`, "BAD_REQUEST"], [`${idOf("target")} stop`, "NOT_FOUND"]]);
  });

  test("the console's container page shows the container and restarts it with its button", async () => {
    const browser: Browser = await launchChromium(findChromium()!);
    try {
      const page = await browser.newPage();
      const hosts = (await bed.collector.get("/api/v1/topology")).body.topology.clients.find((c: { name: string }) => c.name === "lab").sites[0].hosts as Array<{ id: number; name: string }>;
      const web = hosts.find((h) => h.name === "web")!.id;
      await page.goto(new URL(`/#token=${bed.collector.token}`, bed.collector.httpUrl).href);
      await page.evaluate(`location.hash = 'host=${web}'`);
      await page.waitFor(`document.querySelector('.container-actions button[data-container-action=restart]')`, "the restart button", 40_000).catch(async (error: Error) => {
        throw new Error(`${error.message}; errors ${JSON.stringify(page.errors)}; page: ${await page.evaluate<string>("document.body.textContent.slice(0, 1500)")}`);
      });
      const text = await page.evaluate<string>(`document.getElementById('host-body').textContent`);
      assert.match(text, new RegExp(`Runs ontarget`));
      assert.match(text, new RegExp(`Image${BUSYBOX_IMAGE}`));
      assert.match(text, /netmap container logs target\/web --lines 100 --follow/);
      const before = await startedAt();
      await page.evaluate(`document.querySelector('.container-actions button[data-container-action=restart]').click()`);
      const notice = await page.waitFor<string>(`document.querySelector('.container-actions + p.notice')?.textContent`, "the action's answer", 60_000);
      assert.equal(notice, "restart: done (lab/ns/target/web)");
      assert.ok(Date.parse(await startedAt()) > Date.parse(before), "restarted");
      // The map: the container inside its host's box; folded by the Containers button into one node counting it.
      await page.evaluate(`location.hash = 'view=map'`);
      await page.waitFor(`[...document.querySelectorAll('#map-wrap svg text')].some((t) => t.textContent === 'web')`, "the container on the map", 40_000);
      await page.evaluate(`document.getElementById('map-containers').click()`);
      await page.waitFor(`[...document.querySelectorAll('#map-wrap svg text')].some((t) => t.textContent === '1 container')`, "the folded node", 40_000);
      assert.equal(await page.evaluate(`[...document.querySelectorAll('#map-wrap svg text')].some((t) => t.textContent === 'web')`), false);
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
    }
  });

  test("netmap run --site ns -- hostname returns each host's name", async () => {
    const result = await netmap("run", "--site", "ns", "--", "hostname");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      "== lab/ns/bastion1: exit 0", chain.hosts.bastion1.hostname,
      "== lab/ns/bastion2: exit 0", chain.hosts.bastion2.hostname,
      "== lab/ns/target: exit 0", chain.hosts.target.hostname,
      "3 hosts: 3 ok, 0 failed, 0 timed out, 0 unreachable", "",
    ].join("\n"));
  });

  test("a host that times out is reported as such while the others succeed (--json)", async () => {
    const started = Date.now();
    const result = await netmap("run", "--site", "ns", "--timeout", "10s", "--json", "--", `if [ "$(hostname)" = ${chain.hosts.bastion2.hostname} ]; then sleep 60; fi; hostname`);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(Date.now() - started < 45_000, "the run did not wait for the sleeping host");
    const { results, summary } = JSON.parse(result.stdout);
    assert.deepEqual(results.map((r: { host: string; status: string; exitCode: number | null; stdout: string }) => [r.host, r.status, r.exitCode, r.stdout]), [
      ["lab/ns/bastion1", "ok", 0, `${chain.hosts.bastion1.hostname}\n`],
      ["lab/ns/bastion2", "timeout", null, ""],
      ["lab/ns/target", "ok", 0, `${chain.hosts.target.hostname}\n`],
    ]);
    assert.equal(summary, "2 ok, 0 failed, 1 timed out, 0 unreachable");
  });

  test("identical outputs are grouped; a label selects; a failing command is reported with its exit code; each run is audited", async () => {
    const same = await netmap("run", "--label", "role=app", "--", "echo", "same");
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout, "== lab/ns/bastion2, lab/ns/target: exit 0\nsame\n2 hosts: 2 ok, 0 failed, 0 timed out, 0 unreachable\n");
    const failing = await netmap("run", "bastion1", "target", "--", "exit 3");
    assert.equal(failing.code, 1);
    assert.equal(failing.stdout, "== lab/ns/bastion1, lab/ns/target: exit 3\n2 hosts: 0 ok, 2 failed, 0 timed out, 0 unreachable\n");
    const runs = await audit("fleet_run");
    assert.ok(runs.includes("--site ns hostname started"), JSON.stringify(runs));
    assert.ok(runs.includes("--site ns hostname 3 ok, 0 failed, 0 timed out, 0 unreachable"), JSON.stringify(runs));
    assert.ok(runs.includes("--label role=app echo same 2 ok, 0 failed, 0 timed out, 0 unreachable"), JSON.stringify(runs));
  });
});
