// Containers against a real Docker daemon (test/helpers/dockerd.ts): the real
// agent (--once --json) reads them through the Engine API socket; the
// collector's rules fire ContainerDown when a running container is killed and
// resolve it when it is started again, ContainerRestarting for a restart loop,
// ContainerUnhealthy for a failing healthcheck. The collector, run in-process,
// follows the engine's events instead of listing every cycle.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { checkReport } from "../../proto/src/report-check.ts";
import { BUSYBOX_IMAGE, startDockerd, type TestDockerd } from "../helpers/dockerd.ts";
import { assertCollectorFollowsEvents } from "../helpers/engine-proxy.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";

const run = promisify(execFile);
const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;

describe("containers, dockerd to alert", () => {
  let dockerd: TestDockerd;
  let database: TestDatabase;
  let db: Db;
  let hostId: number;
  let evaluator: AlertEvaluator;

  async function container(name: string, spec: Record<string, unknown>): Promise<void> {
    const created = await dockerd.api("POST", `/containers/create?name=${name}`, { Image: BUSYBOX_IMAGE, ...spec });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await dockerd.api("POST", `/containers/${name}/start`)).status, 204);
  }

  async function agentReport(): Promise<HostReport> {
    const { stdout } = await run(process.execPath, [main, "--once", "--json", "--agent-id", "containers-test"], { env: { ...process.env, NETMAP_LOG_LEVEL: "error", NETMAP_CONTAINERS: dockerd.socket } });
    return checkReport(HostReport.fromJSON(JSON.parse(stdout)));
  }
  const judge = async () => (await evaluator.judge([{ hostId, host: "docker01", report: await agentReport() }])).map((t) => `${t.alert.rule}:${t.alert.labels.container}:${t.to}`).sort();
  const openOf = async (rule: string) => (await openAlerts(db)).filter((a) => a.rule === rule).map((a) => `${a.labels.container}:${a.state}`);

  before(async () => {
    dockerd = await startDockerd();
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    hostId = (await db.insertInto("hosts").values({ agent_id: "containers-test", hostname: "docker01" }).returning("id").executeTakeFirstOrThrow()).id;
    evaluator = new AlertEvaluator({ db, rules: rulesConfigSchema.parse({ ContainerDown: { for: "0s" }, ContainerUnhealthy: { for: "0s" } }), log: pino({ level: "silent" }), notify: () => {} });
    await container("web", { Cmd: ["/bin/sleep", "1000"] });
    await container("sick", { Cmd: ["/bin/sleep", "1000"], Healthcheck: { Test: ["CMD", "/bin/false"], Interval: 500_000_000, Retries: 1 } });
    await container("looper", { Cmd: ["/bin/sh", "-c", "exit 3"], HostConfig: { RestartPolicy: { Name: "always" } } });
    // The collector's first sight of them: restarts are counted from here.
    await judge();
  });

  after(async () => {
    await dockerd?.stop();
    await db?.destroy();
    await database?.drop();
  });

  test("the agent reports each container's name, image, state, health, restarts and memory", async () => {
    await eventually(async () => (await dockerd.api("GET", "/containers/sick/json")).body.State.Health?.Status === "unhealthy", "the healthcheck failing");
    const report = await agentReport();
    const byName = new Map(report.containers.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()].sort(), ["looper", "sick", "web"]);
    const web = byName.get("web")!;
    assert.deepEqual([web.image, web.state, web.health, web.engine, web.exitCode], [BUSYBOX_IMAGE, "running", "", "docker", undefined]);
    assert.match(web.id, /^[0-9a-f]{64}$/);
    assert.ok(web.memoryUsedBytes! > 0 && web.memoryLimitBytes! > web.memoryUsedBytes!, `memory ${web.memoryUsedBytes} of ${web.memoryLimitBytes}`);
    assert.ok(Date.now() - web.startedAt!.getTime() < 120_000);
    assert.equal(byName.get("sick")!.health, "unhealthy");
    assert.ok(byName.get("looper")!.restartCount >= 1);
    assert.equal(report.collectors.find((c) => c.name === "containers")?.success, true);
  });

  test("a running container killed fires ContainerDown; started again it resolves", async () => {
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), [], "running: nothing");
    assert.equal((await dockerd.api("POST", "/containers/web/kill")).status, 204);
    await eventually(async () => (await dockerd.api("GET", "/containers/web/json")).body.State.Status === "exited", "web exited");
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), ["ContainerDown:web:firing"]);
    const down = (await openAlerts(db)).find((a) => a.rule === "ContainerDown")!;
    assert.equal(down.annotations.summary, `container web (${BUSYBOX_IMAGE}) on docker01 is exited (exit code 137); it was running`);
    assert.equal((await dockerd.api("POST", "/containers/web/start")).status, 204);
    assert.deepEqual((await judge()).filter((t) => t.startsWith("ContainerDown")), ["ContainerDown:web:resolved"]);
  });

  test("a restart loop fires ContainerRestarting and a failing healthcheck ContainerUnhealthy", async () => {
    await eventually(async () => (await dockerd.api("GET", "/containers/looper/json")).body.RestartCount >= 5, "looper restarting", 30_000);
    await judge();
    assert.deepEqual(await openOf("ContainerUnhealthy"), ["sick:firing"]);
    assert.deepEqual(await openOf("ContainerRestarting"), ["looper:firing"]);
  });

  test("a container removed resolves its alerts", async () => {
    assert.equal((await dockerd.api("DELETE", "/containers/sick?force=true")).status, 204);
    await judge();
    assert.deepEqual(await openOf("ContainerUnhealthy"), []);
  });

  test("the agent follows the engine's events: a cycle with no change asks nothing, a kill and a start are read at once", async () => {
    // Its restart loop changes something every few seconds.
    assert.equal((await dockerd.api("DELETE", "/containers/looper?force=true")).status, 204);
    await assertCollectorFollowsEvents(dockerd, "web");
  });
});
