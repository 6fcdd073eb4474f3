// Containers against a real Podman through its Docker-compatible API socket
// (test/helpers/podman.ts): the real agent (--once --json) names the engine and
// reads each container; the collector, run in-process over two cycles, reads a
// busy container's CPU and memory from its cgroup; ContainerDown fires when a
// running container is killed and resolves when it is started again; the
// collector follows Podman's events instead of listing every cycle.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { containersCollector } from "../../agent/src/collectors/containers.ts";
import { createLinuxSource } from "../../agent/src/source.ts";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { checkReport } from "../../proto/src/report-check.ts";
import { BUSYBOX_IMAGE } from "../helpers/dockerd.ts";
import { assertCollectorFollowsEvents } from "../helpers/engine-proxy.ts";
import { startPodman, type TestPodman } from "../helpers/podman.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";

const run = promisify(execFile);
const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;

describe("containers, Podman's Docker-compatible API to alert", () => {
  let podman: TestPodman;
  let database: TestDatabase;
  let db: Db;
  let hostId: number;
  let evaluator: AlertEvaluator;

  async function container(name: string, cmd: string[]): Promise<void> {
    const created = await podman.api("POST", `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, Cmd: cmd });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await podman.api("POST", `/containers/${name}/start`)).status, 204);
  }

  async function agentReport(): Promise<HostReport> {
    const { stdout } = await run(process.execPath, [main, "--once", "--json", "--agent-id", "podman-test"], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: podman.socket } });
    return checkReport(HostReport.fromJSON(JSON.parse(stdout)));
  }
  const judge = async () => (await evaluator.judge([{ hostId, host: "podman01", report: await agentReport() }])).map((t) => `${t.alert.rule}:${t.alert.labels.container}:${t.to}`).sort();

  before(async () => {
    podman = await startPodman();
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    hostId = (await db.insertInto("hosts").values({ agent_id: "podman-test", hostname: "podman01" }).returning("id").executeTakeFirstOrThrow()).id;
    evaluator = new AlertEvaluator({ db, rules: rulesConfigSchema.parse({ ContainerDown: { for: "0s" } }), log: pino({ level: "silent" }), notify: () => {} });
    await container("web", ["/bin/sleep", "1000"]);
    await container("burner", ["/bin/sh", "-c", "while :; do :; done"]);
  });

  after(async () => {
    await podman?.stop();
    await db?.destroy();
    await database?.drop();
  });

  test("the agent reports each container with the engine named podman, and its memory", async () => {
    const report = await agentReport();
    assert.equal(report.collectors.find((c) => c.name === "containers")?.success, true, JSON.stringify(report.collectors));
    const byName = new Map(report.containers.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()].sort(), ["burner", "web"]);
    const web = byName.get("web")!;
    assert.deepEqual([web.state, web.engine, web.exitCode], ["running", "podman", undefined]);
    assert.match(web.image, /netmap-busybox:test$/);
    assert.match(web.id, /^[0-9a-f]{64}$/);
    assert.ok(web.memoryUsedBytes! > 0 && web.memoryLimitBytes! > web.memoryUsedBytes!, `memory ${web.memoryUsedBytes} of ${web.memoryLimitBytes}`);
    assert.ok(Date.now() - web.startedAt!.getTime() < 300_000);
  });

  test("a busy container's CPU comes from its cgroup, as a rate between two cycles", async () => {
    const collector = containersCollector(podman.socket);
    const source = createLinuxSource();
    const context = { log: pino({ level: "silent" }) };
    const first = await collector.collect(source, {}, context);
    assert.equal(first.containers!.find((c) => c.name === "burner")!.cpuPercent, undefined, "no rate on the first cycle");
    await sleep(1500);
    const second = await collector.collect(source, {}, context);
    const burner = second.containers!.find((c) => c.name === "burner")!;
    const web = second.containers!.find((c) => c.name === "web")!;
    // A shell spinning takes most of a core; the machine is shared, so only "clearly busy".
    assert.ok(burner.cpuPercent! > 20 && burner.cpuPercent! < 110, `burner ${burner.cpuPercent} %`);
    assert.ok(web.cpuPercent! >= 0 && web.cpuPercent! < 5, `web ${web.cpuPercent} %`);
    // The same figures the cgroup holds: the main process's cgroup is what was read.
    const pid = (await podman.api("GET", "/containers/burner/json")).body.State.Pid as number;
    assert.ok(source.containerUsage(pid, source.containerCgroup(pid)!)!.cpuSeconds! > 0);
  });

  test("a running container killed fires ContainerDown; started again it resolves", async () => {
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), [], "running: nothing");
    assert.equal((await podman.api("POST", "/containers/web/kill")).status, 204);
    await eventually(async () => (await podman.api("GET", "/containers/web/json")).body.State.Status === "exited", "web exited");
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), ["ContainerDown:web:firing"]);
    const down = (await openAlerts(db)).find((a) => a.rule === "ContainerDown")!;
    assert.match(down.annotations.summary!, /^container web \(.*netmap-busybox:test\) on podman01 is exited/);
    assert.equal((await podman.api("POST", "/containers/web/start")).status, 204);
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), ["ContainerDown:web:resolved"]);
  });

  test("the agent follows Podman's events: a cycle with no change asks nothing, a kill and a start are read at once", async () => {
    await assertCollectorFollowsEvents(podman, "web");
  });
});
