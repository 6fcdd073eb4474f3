// The change rules through AlertEvaluator with state in a fresh PostgreSQL
// database: each fires and resolves, and an alert opened before a collector
// restart still resolves after it, found among the host's open alerts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import type { Transition } from "../../collector/src/alerts/engine.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { Protocol, type DeepPartial, type HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { createMigratedDatabase, type MigratedDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";

const log = pino({ level: "silent" });
const rules = rulesConfigSchema.parse({ ListenerGone: { for: "0s" } });
const t0 = Date.UTC(2026, 10, 23, 10, 0);
const ssh = { protocol: Protocol.PROTOCOL_TCP, address: "0.0.0.0", port: 22, pid: 500, process: "sshd" };
const redis = { protocol: Protocol.PROTOCOL_TCP, address: "127.0.0.1", port: 6379, pid: 900, process: "redis-server" };

describe("change rules through the evaluator", () => {
  let database: MigratedDatabase;
  let db: Db;

  before(async () => {
    database = await createMigratedDatabase();
    ({ db } = database);
  });

  after(() => database?.drop());

  /** A host of its own per test, reporting through an evaluator that can be restarted. */
  async function host(name: string) {
    const hostId = (await db.insertInto("hosts").values({ agent_id: name, hostname: name }).returning("id").executeTakeFirstOrThrow()).id;
    const notified: Transition[] = [];
    let evaluator = new AlertEvaluator({ db, rules, log, notify: (t) => notified.push(...t) });
    let seq = 0;
    return {
      notified,
      restart: () => (evaluator = new AlertEvaluator({ db, rules, log, notify: (t) => notified.push(...t) })),
      report: async (seconds: number, overrides: DeepPartial<HostReport> = {}) => {
        const collectedAt = new Date(t0 + seconds * 1000);
        const report = sampleReport({ agentId: name, hostname: name, seq: ++seq, collectedAt, os: { uptimeSeconds: 86_400 + seconds }, listeners: [ssh], ...overrides });
        return (await evaluator.judge([{ hostId, host: name, report }], collectedAt)).map((t) => `${seconds}:${t.alert.rule}:${t.to}`);
      },
      open: async () => (await openAlerts(db, [hostId])).map((a) => `${a.rule}:${a.state}`),
    };
  }

  test("HostRebooted: a new boot id fires once and resolves once uptime passes 15 minutes", async () => {
    const h = await host("reboot01");
    const seen: string[] = [];
    seen.push(...(await h.report(0)), ...(await h.report(10)));
    for (const s of [20, 30, 500, 910, 930, 940]) seen.push(...(await h.report(s, { bootId: "b2", os: { uptimeSeconds: s - 15 } })));
    assert.deepEqual(seen, ["20:HostRebooted:firing", "930:HostRebooted:resolved"]);
    assert.equal(h.notified[0]!.alert.severity, "warning");
    assert.deepEqual(h.notified[0]!.alert.labels, { host: "reboot01" });
  });

  test("ListenerGone: fires with the socket's labels and, after a collector restart, resolves when the port listens again", async () => {
    const h = await host("gone01");
    for (const s of [0, 10, 20]) await h.report(s, { listeners: [ssh, redis] });
    assert.deepEqual(await h.report(30), ["30:ListenerGone:firing"]);
    assert.deepEqual(h.notified[0]!.alert.labels, { host: "gone01", protocol: "tcp", address: "127.0.0.1", port: "6379", process: "redis-server" });
    h.restart();
    assert.deepEqual(await h.report(40), [], "a restarted collector does not re-page");
    assert.deepEqual(await h.report(50, { listeners: [ssh, redis] }), ["50:ListenerGone:resolved"]);
    assert.deepEqual(await h.open(), []);
  });

  test("ListenerNew: a new port on a known host fires, resolves when it goes away, and once accepted after 24 h", async () => {
    const h = await host("new01");
    for (const s of [0, 10, 20]) await h.report(s);
    assert.deepEqual(await h.report(30, { listeners: [ssh, redis] }), ["30:ListenerNew:firing"]);
    assert.deepEqual(await h.report(40), ["40:ListenerNew:resolved"]);
    const other = { ...redis, port: 8080, process: "node" };
    assert.deepEqual(await h.report(50, { listeners: [ssh, other] }), ["50:ListenerNew:firing"]);
    h.restart();
    assert.deepEqual(await h.report(60 + 86_400, { listeners: [ssh, other] }), ["86460:ListenerNew:resolved"]);
    assert.deepEqual(await h.open(), []);
  });

  test("AddressChanged: a changed IP fires naming the interface, and resolves an hour later", async () => {
    const h = await host("addr01");
    const eth0 = (address: string) => [{ name: "eth0", mac: "52:54:00:12:34:56", addresses: [{ address, prefixLength: 24 }], up: true, virtual: false }];
    await h.report(0, { interfaces: eth0("192.0.2.10") });
    assert.deepEqual(await h.report(10, { interfaces: eth0("192.0.2.20") }), ["10:AddressChanged:firing"]);
    assert.deepEqual(h.notified[0]!.alert.labels, { host: "addr01", interface: "eth0" });
    assert.equal(h.notified[0]!.alert.annotations.summary, "eth0 on addr01 changed: address 192.0.2.10 → 192.0.2.20");
    assert.deepEqual(await h.report(600, { interfaces: eth0("192.0.2.20") }), []);
    assert.deepEqual(await h.report(3610, { interfaces: eth0("192.0.2.20") }), ["3610:AddressChanged:resolved"]);
    assert.deepEqual(await h.open(), []);
  });
});
