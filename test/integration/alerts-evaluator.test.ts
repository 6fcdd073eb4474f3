// Rules judged on stored hosts, alert state in PostgreSQL, notifications to a
// real HTTP receiver: fires once, resolves once, survives a restart without re-paging.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { AlertDispatcher } from "../../collector/src/alerts/dispatch.ts";
import { AlertEvaluator, type JudgedHost } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { verifySignature, type WebhookPayload } from "../../collector/src/alerts/notifiers/webhook.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { eventually } from "../helpers/wait.ts";
import { freePort } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const SECRET = "evaluator-test-secret";
const GiB = 1024 ** 3;
const log = pino({ level: "silent" });
const rules = rulesConfigSchema.parse({ FilesystemAlmostFull: { for: "0s" } });

describe("alert evaluation and delivery", () => {
  let database: TestDatabase;
  let db: Db;
  let hostId: number;
  let server: Server;
  let port: number;
  const received: Array<{ payload: WebhookPayload; verified: boolean; delivery: string }> = [];

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    hostId = (await db.insertInto("hosts").values({ agent_id: "a1", hostname: "web01" }).returning("id").executeTakeFirstOrThrow()).id;
    port = await freePort();
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (c) => (body += c));
      request.on("end", () => {
        const verified = verifySignature(SECRET, { signature: String(request.headers["x-netmap-signature"]), timestamp: String(request.headers["x-netmap-timestamp"]) }, body);
        received.push({ payload: JSON.parse(body), verified, delivery: String(request.headers["x-netmap-delivery"]) });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  });

  after(async () => {
    server?.close();
    await db?.destroy();
    await database?.drop();
  });

  function collectorParts() {
    const dispatcher = new AlertDispatcher({ notifiers: [{ name: "ops", type: "webhook", url: `http://127.0.0.1:${port}/`, secret: SECRET }], externalURL: "http://127.0.0.1:7070/", db, log });
    const evaluator = new AlertEvaluator({ db, rules, log, notify: (t) => dispatcher.notify(t) });
    return { dispatcher, evaluator };
  }

  const withSrv = (usedGiB: number, minute: number): JudgedHost => ({
    hostId,
    host: "web01",
    report: sampleReport({
      collectedAt: new Date(Date.UTC(2026, 10, 23, 10, minute)),
      mounts: [{ mountpoint: "/srv", device: "/dev/loop0", fsType: "ext4", sizeBytes: 10 * GiB, usedBytes: usedGiB * GiB, availableBytes: (10 - usedGiB) * GiB, inodesTotal: 1000, inodesUsed: 1 }],
    }),
  });

  test("a mount past the threshold fires a signed webhook naming it; a restarted collector does not re-page; freeing it resolves once", async () => {
    let { dispatcher, evaluator } = collectorParts();
    await evaluator.judge([withSrv(9, 0)]);
    await eventually(async () => received.length === 1, "the firing webhook");
    const firing = received[0]!;
    assert.equal(firing.verified, true);
    assert.equal(firing.payload.status, "firing");
    assert.deepEqual(firing.payload.alerts.map((a) => `${a.labels.alertname}/${a.labels.severity}/${a.labels.mountpoint}`), ["FilesystemAlmostFull/warning//srv"]);
    assert.equal((await openAlerts(db)).length, 1);

    // Restart: new evaluator and dispatcher, the same database. Still 90%: nothing new is sent.
    await dispatcher.close();
    ({ dispatcher, evaluator } = collectorParts());
    assert.deepEqual(await evaluator.judge([withSrv(9, 1)]), []);
    // Hovering between the clear (80%) and fire (85%) thresholds: still nothing.
    assert.deepEqual(await evaluator.judge([withSrv(8.2, 2)]), []);

    const resolved = await evaluator.judge([withSrv(5, 3)]);
    assert.deepEqual(resolved.map((t) => t.to), ["resolved"]);
    await eventually(async () => received.length === 2, "the resolved webhook");
    assert.equal(received[1]!.payload.status, "resolved");
    assert.equal(received[1]!.payload.alerts[0]!.endsAt, new Date(resolved[0]!.alert.endsAt!).toISOString());
    assert.notEqual(received[1]!.delivery, received[0]!.delivery);
    assert.equal((await openAlerts(db)).length, 0);
    const { rows } = await (await import("kysely")).sql<{ n: number }>`SELECT count(*)::int AS n FROM alert_deliveries WHERE delivered`.execute(db);
    assert.equal(rows[0]!.n, 2, "each delivery is in the delivery log");
    await dispatcher.close();
  });

  test("an alert whose mount disappeared from the reports is resolved, not left firing", async () => {
    const { dispatcher, evaluator } = collectorParts();
    const before = received.length;
    await evaluator.judge([withSrv(9.9, 10)]); // past critical at once: the critical alert only
    assert.deepEqual((await openAlerts(db)).map((a) => a.severity), ["critical"]);
    const gone = await evaluator.judge([{ hostId, host: "web01", report: sampleReport({ collectedAt: new Date(Date.UTC(2026, 10, 23, 10, 11)) }) }]);
    assert.deepEqual(gone.map((t) => `${t.alert.severity}:${t.to}`).sort(), ["critical:resolved"]);
    await eventually(async () => received.length === before + 2, "firing and resolved webhooks");
    await dispatcher.close();
  });

  test("a silent host raises HostDown once after three intervals and 30 s more, and resolves once when it reports again", async () => {
    const { dispatcher, evaluator } = collectorParts();
    const t0 = Date.UTC(2026, 10, 23, 12, 0);
    const tick = (second: number, ageSeconds: number) =>
      evaluator.judgeSilence([{ hostId, host: "web01", ageSeconds, intervalSeconds: 10 }], new Date(t0 + second * 1000));
    const transitions: string[] = [];
    // A blip: one missed report, then back.
    for (const [second, age] of [[0, 5], [10, 15], [20, 25], [30, 3]] as const) transitions.push(...(await tick(second, age)).map((t) => `${second}:${t.to}`));
    assert.equal(transitions.length, 0, `a brief blip does not page: ${transitions.join(", ")}`);
    // Silent from second 40 on.
    for (let second = 40; second <= 150; second += 10) transitions.push(...(await tick(second, second - 30)).map((t) => `${second}:${t.to}`));
    for (const [second, age] of [[160, 2], [170, 4]] as const) transitions.push(...(await tick(second, age)).map((t) => `${second}:${t.to}`));
    assert.deepEqual(transitions, ["100:firing", "160:resolved"]);
    const down = (await openAlerts(db)).filter((a) => a.rule === "HostDown");
    assert.equal(down.length, 0);
    await dispatcher.close();
  });

  test("forgets the in-memory state of a host no longer in the database", async () => {
    const other = (await db.insertInto("hosts").values({ agent_id: "a2", hostname: "web02" }).returning("id").executeTakeFirstOrThrow()).id;
    const evaluator = new AlertEvaluator({ db, rules, log, notify: () => {} });
    await evaluator.judge([hostId, other].map((id): JudgedHost => ({ hostId: id, host: `host-${id}`, report: sampleReport() })));
    assert.deepEqual(evaluator.rememberedHosts.sort(), [hostId, other].sort());
    await db.deleteFrom("hosts").where("id", "=", other).execute();
    evaluator.retainHosts([hostId]);
    assert.deepEqual(evaluator.rememberedHosts, [hostId]);
  });
});

