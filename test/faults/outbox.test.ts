// The notifications outbox under a kill: collector B holds the alert-outbox lease and is frozen
// (SIGSTOP) before an alert fires; collector A stores the transition (with the alert's move, in
// one transaction) and, not holding the lease, does not send it. B is then SIGKILLed, never
// having sent it: A takes the lease and pages the transition, once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { signal, startAgentProcess, startCollectorProcess, startWebhookReceiver, type CollectorProcess, type Process, type WebhookReceiver } from "../helpers/fault-rig.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const RULE = "FilesystemAlmostFull";

describe("faults: a transition stored by one collector is paged after the sender is killed", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let sql: pg.Client;
  let a: CollectorProcess;
  let b: CollectorProcess;
  let agent: Process;

  const holds = (c: CollectorProcess) => c.lines().some((l) => l.lease === "alert-outbox" && /holding the lease/.test(l.msg));
  const outbox = async () => Number((await sql.query("SELECT count(*) AS n FROM alert_outbox")).rows[0].n);
  const pages = () => receiver.pages.filter((p) => p.alertname === RULE);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-outbox-"));
    nats = await startNatsServer();
    database = await createTestDatabase();
    receiver = await startWebhookReceiver();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const configFile = join(dir, "netmap.yaml");
    // Any mount past 1 % fires at once: a transition on the agent's first report.
    writeFileSync(configFile, `notifiers:\n  - name: ops\n    type: webhook\n    url: ${receiver.url}\nrules:\n  ${RULE}:\n    warning: 1\n    critical: 99.99\n    for: 0s\n`);
    const start = () => startCollectorProcess({ natsUrls: nats.url, databaseUrl: database.url, configFile, token: "outbox-token" });
    b = await start();
    await eventually(() => holds(b), withLog("B holding the alert-outbox lease", b.log), 30_000);
    a = await start();
  });

  after(async () => {
    await signal(agent, "SIGKILL");
    await signal(a, "SIGKILL");
    if (b) {
      b.child.kill("SIGCONT");
      await signal(b, "SIGKILL");
    }
    await sql?.end();
    await receiver?.close();
    await database?.drop();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("B frozen: A stores the transition and does not send it; B killed: A takes the lease and pages it once", async () => {
    b.child.kill("SIGSTOP");
    agent = startAgentProcess({ natsUrls: nats.url, agentId: "outbox-agent", spoolDir: join(dir, "spool") });
    await eventually(async () => (await outbox()) >= 1, withLog("A to store the transition in the outbox", a.log), 60_000);
    await sleep(3_000);
    assert.deepEqual(pages(), [], "A does not hold the lease: nothing sent");
    assert.equal(holds(a), false);

    await signal(b, "SIGKILL");
    await eventually(() => holds(a), withLog("A to take the alert-outbox lease", a.log), 30_000);
    await eventually(() => pages().length >= 1, withLog("the page", a.log), 30_000);
    await eventually(async () => (await outbox()) === 0, "the outbox drained", 30_000);
    await sleep(3_000);
    const byAlert = Object.values(Object.groupBy(pages(), (p) => p.fingerprint)).map((list) => list!.map((p) => p.status));
    assert.ok(byAlert.length >= 1);
    for (const statuses of byAlert) assert.deepEqual(statuses, ["firing"], `paged once each: ${JSON.stringify(byAlert)}`);
  });
});
