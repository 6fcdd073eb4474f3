import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { AlertDispatcher } from "../../collector/src/alerts/dispatch.ts";
import { WATCHDOG, watchdogEnabled } from "../../collector/src/alerts/rules/watchdog.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { startAlertmanager, type TestAlertmanager } from "../helpers/alertmanager.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/fault-rig.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { eventually } from "../helpers/wait.ts";

const TICK_SECONDS = 0.3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Watchdog: the always-firing heartbeat for a dead man's switch", () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let db: Db;
  let receiver: WebhookReceiver;
  let alertmanager: TestAlertmanager;
  let sender = true;
  let dispatcher: AlertDispatcher;
  const watchdogPages = () => receiver.pages.filter((p) => p.alertname === WATCHDOG);

  before(async () => {
    database = await createTestDatabase();
    // PostgreSQL behind a proxy the last test cuts.
    proxy = await startTcpProxy(5432);
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    db = openDatabase(viaProxy.toString(), { max: 2 });
    await migrateToLatest(db);
    receiver = await startWebhookReceiver();
    alertmanager = await startAlertmanager();
    dispatcher = new AlertDispatcher({
      notifiers: [{ name: "snitch", type: "webhook", url: receiver.url, secret: null }, { name: "am", type: "alertmanager", url: alertmanager.url }],
      externalURL: "http://netmap.test/",
      db,
      log: pino({ level: "silent" }),
      sendsWatchdog: () => sender,
      resendIntervalSeconds: TICK_SECONDS,
    });
    dispatcher.start();
  });

  after(async () => {
    await dispatcher?.close();
    await db?.destroy();
    await proxy?.close();
    await receiver?.close();
    await alertmanager?.close();
    await database?.drop();
  });

  test("reaches the webhook on every tick, firing, severity info, always the same fingerprint", async () => {
    await eventually(() => watchdogPages().length >= 3, "three Watchdog webhooks");
    const pages = watchdogPages();
    assert.ok(pages.every((p) => p.status === "firing" && p.labels.severity === "info"), JSON.stringify(pages));
    assert.equal(new Set(pages.map((p) => p.fingerprint)).size, 1);
    assert.ok(receiver.pages.every((p) => p.alertname === WATCHDOG), "nothing else is firing, so nothing else is sent");
  });

  test("a real Alertmanager lists it as one active alert", async () => {
    const listed = await eventually(async () => {
      const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts?active=true`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
      const watchdogs = alerts.filter((a) => a.labels.alertname === WATCHDOG);
      return watchdogs.length > 0 && watchdogs;
    }, "Alertmanager to list the Watchdog");
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.labels.severity, "info");
    assert.equal(listed[0]!.status.state, "active");
  });

  test("a collector that does not run the absence check sends none, and starts when it takes over", async () => {
    sender = false;
    await sleep(TICK_SECONDS * 1000 * 2); // a tick under way may still send
    const before = watchdogPages().length;
    await sleep(TICK_SECONDS * 1000 * 4);
    assert.equal(watchdogPages().length, before);
    sender = true;
    await eventually(() => watchdogPages().length > before, "the Watchdog to come back with the absence check");
  });

  test("stops while PostgreSQL does not answer and comes back with it", async () => {
    await proxy.cut();
    try {
      await sleep(TICK_SECONDS * 1000 * 3);
      const before = watchdogPages().length;
      await sleep(TICK_SECONDS * 1000 * 5);
      assert.equal(watchdogPages().length, before, "no heartbeat from a collector that cannot read its alerts");
    } finally {
      await proxy.restore();
    }
    const after = watchdogPages().length;
    await eventually(() => watchdogPages().length > after, "the Watchdog once PostgreSQL is back", 20_000);
  });

  test("rules: Watchdog: enabled: false turns it off; it is on by default", () => {
    assert.equal(watchdogEnabled(rulesConfigSchema.parse({})), true);
    assert.equal(watchdogEnabled(rulesConfigSchema.parse({ Watchdog: { enabled: false } })), false);
  });
});
