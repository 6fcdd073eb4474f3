// HostDown that follows the topology, on a topology imported into PostgreSQL and
// a real webhook receiver: a fallen bastion pages once, naming the hosts behind
// it; their HostDown are shown, inhibited, never paged; a wholly-down site pages
// one SiteUnreachable.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import pino from "pino";
import { AlertDispatcher } from "../../collector/src/alerts/dispatch.ts";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts, reportingHosts, topologyContext } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const log = pino({ level: "silent" });
const TOPOLOGY = `
clients:
  - name: acme
    sites:
      - name: paris
        bastion: gw1
        hosts:
          - { name: gw1, address: 203.0.113.10 }
          - name: pve1
            address: 10.0.0.2
            kind: hypervisor
            guests:
              - { name: web01, address: 10.0.1.5, kind: vm }
              - { name: web02, address: 10.0.1.6, kind: vm }
          - { name: db01, address: 10.0.0.9, via: gw1 }
`;

describe("alerts that follow the topology", () => {
  let database: TestDatabase;
  let db: Db;
  let receiver: WebhookReceiver;
  let dispatcher: AlertDispatcher;
  let evaluator: AlertEvaluator;
  const pages = () => receiver.pages;
  const t0 = Date.UTC(2026, 11, 1, 12, 0);

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    await importTopology(db, parseTopologyFile(TOPOLOGY));
    await sql`UPDATE hosts SET received_at = now(), interval_seconds = 10`.execute(db);
    receiver = await startWebhookReceiver();
    dispatcher = new AlertDispatcher({ notifiers: [{ name: "ops", type: "webhook", url: receiver.url, secret: null }], externalURL: "http://127.0.0.1:7070/", db, log });
    evaluator = new AlertEvaluator({ db, rules: rulesConfigSchema.parse({}), log, notify: (t) => dispatcher.notify(t) });
  });

  after(async () => {
    await dispatcher?.close();
    await receiver?.close();
    await db?.destroy();
    await database?.drop();
  });

  /**
   * One ticker pass at `second`, the named hosts silent for 60 s, those `returning` reporting
   * again but their last report 25 s old (not down, not yet fresh enough to clear), the others fresh.
   */
  async function tick(second: number, silent: string[], returning: string[] = []): Promise<string[]> {
    const hosts = (await reportingHosts(db)).map((h) => ({ ...h, ageSeconds: silent.includes(h.host) ? 60 : returning.includes(h.host) ? 25 : 2 }));
    const now = new Date(t0 + second * 1000);
    const moved = await evaluator.judgeSilence(hosts, now, await topologyContext(db, now));
    return moved.map((t) => `${t.alert.rule}:${t.alert.labels.host ?? t.alert.labels.site}:${t.to}`).sort();
  }
  const paged = () => receiver.paged();
  async function settled(count: number) {
    await eventually(async () => pages().length >= count, `${count} webhook deliveries`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  test("a fallen bastion pages once with its hidden hosts; each of theirs is shown as inhibited and not paged", async () => {
    const behind = ["gw1", "pve1", "web01", "web02"];
    assert.deepEqual(await tick(0, behind), []);
    assert.deepEqual(await tick(30, behind), ["HostDown:gw1:firing", "HostDown:pve1:firing", "HostDown:web01:firing", "HostDown:web02:firing"]);
    await settled(1);
    assert.deepEqual(paged(), ["HostDown:gw1:firing"], "only the bastion pages");
    assert.equal(pages()[0]!.alerts[0]!.annotations.summary, "gw1 has sent no report for 60 s; 3 hosts behind it unreachable: pve1, web01, web02");
    const open = await openAlerts(db);
    assert.deepEqual(
      open.map((a) => [a.labels.host, a.state, a.annotations.inhibited_by ?? null, a.muted]).sort(),
      [["gw1", "firing", null, false], ["pve1", "firing", "gw1", true], ["web01", "firing", "gw1", true], ["web02", "firing", "gw1", true]],
    );
  });

  test("when the bastion comes back and the hypervisor stays down past its own threshold, the hypervisor pages for its guests", async () => {
    const stillDown = ["pve1", "web01", "web02"];
    // Their agents reconnect after gw1's: each is given its own 30 s from gw1's return.
    assert.deepEqual(await tick(40, stillDown), ["HostDown:gw1:resolved"]);
    // web01 reports again, its report judged late (a loaded collector): coming back, it stays hidden, on the
    // ticker's pass as on the pass that follows its report (which judges without the topology).
    assert.deepEqual(await tick(45, ["pve1", "web02"], ["web01"]), []);
    const web01 = (await reportingHosts(db)).filter((h) => h.host === "web01").map((h) => ({ ...h, ageSeconds: 25 }));
    assert.deepEqual(await evaluator.judgeSilence(web01, new Date(t0 + 46_000)), []);
    const hidden = (await openAlerts(db)).find((a) => a.labels.host === "web01")!;
    assert.deepEqual([hidden.state, hidden.annotations.inhibited_by], ["firing", "gw1"]);
    assert.deepEqual(await tick(70, stillDown), []);
    assert.deepEqual(await tick(71, stillDown), ["HostDown:pve1:firing"]);
    await settled(2);
    assert.deepEqual(paged().slice(1).sort(), ["HostDown:gw1:resolved", "HostDown:pve1:firing"]);
    const pve1 = pages().flatMap((p) => p.alerts).find((a) => a.labels.host === "pve1")!;
    assert.equal(pve1.annotations.summary, "pve1 has sent no report for 60 s; 2 hosts behind it unreachable: web01, web02");
    const inhibited = (await openAlerts(db)).filter((a) => a.annotations.inhibited_by).map((a) => `${a.labels.host}<${a.annotations.inhibited_by}`);
    assert.deepEqual(inhibited.sort(), ["web01<pve1", "web02<pve1"]);

    assert.deepEqual(await tick(50, []), ["HostDown:pve1:resolved", "HostDown:web01:resolved", "HostDown:web02:resolved"]);
    await settled(3);
    assert.deepEqual(paged().slice(3), ["HostDown:pve1:resolved"], "the resolves of inhibited alerts are not paged either");
  });

  test("a site where every host is down pages one SiteUnreachable and no HostDown, and resolves it once a host reports", async () => {
    const before = pages().length;
    const all = ["gw1", "pve1", "web01", "web02", "db01"];
    assert.deepEqual(await tick(100, all), []);
    const fired = await tick(130, all);
    assert.deepEqual(fired.filter((t) => t.startsWith("SiteUnreachable")), ["SiteUnreachable:paris:firing"]);
    assert.equal(fired.length, 6);
    await settled(before + 1);
    assert.deepEqual(paged().slice(-1), ["SiteUnreachable:paris:firing"]);
    const sent = paged().length;
    const site = pages().at(-1)!.alerts[0]!;
    assert.deepEqual([site.labels.client, site.labels.site, site.annotations.summary], ["acme", "paris", "every host of acme/paris is down: 5 hosts silent (db01, gw1, pve1, web01, web02)"]);

    const stillDown = ["pve1", "web01", "web02", "db01"];
    const back = await tick(140, stillDown);
    assert.deepEqual(back, ["HostDown:gw1:resolved", "SiteUnreachable:paris:resolved"], "the others are still given time to report");
    assert.deepEqual(await tick(170, stillDown), []);
    assert.deepEqual(await tick(171, stillDown), ["HostDown:db01:firing", "HostDown:pve1:firing"]);
    await settled(before + 3);
    // gw1 is back, db01 stays down past its threshold: db01 is its own cause now and pages; pve1 pages for its guests.
    assert.deepEqual(paged().slice(sent).sort(), ["HostDown:db01:firing", "HostDown:pve1:firing", "SiteUnreachable:paris:resolved"]);
  });
});
