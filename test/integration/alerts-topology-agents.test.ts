// Alerts that follow the topology, end to end: four real agents placed by a
// topology file (gw1, and web01 and web02 behind it; db01 reached directly),
// the collector (`netmap serve`) judging silence on its own ticker, and a
// webhook receiver. gw1 and its hosts stopped: one page, for gw1, naming the
// two hosts behind it. Then the last host of the site stopped: one page,
// SiteUnreachable.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { migrateToLatest, openDatabase } from "../../collector/src/db/database.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { eventually } from "../helpers/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const HOSTS = ["gw1", "web01", "web02", "db01"] as const;
const TOPOLOGY = `
clients:
  - name: acme
    sites:
      - name: paris
        hosts:
          - { name: gw1, address: 192.0.2.1, agent_id: agent-gw1 }
          - { name: web01, address: 10.0.0.11, via: gw1, agent_id: agent-web01 }
          - { name: web02, address: 10.0.0.12, via: gw1, agent_id: agent-web02 }
          - { name: db01, address: 192.0.2.20, agent_id: agent-db01 }
`;
// Silence is judged after max(3 intervals, 30 s); `for` 0 so the test waits for that alone.
const CONFIG = (url: string) => `
rules:
  HostDown: { for: 0s }
  SiteUnreachable: { for: 0s }
  Watchdog: { enabled: false }   # the heartbeat would reach this webhook every minute; pages here are counted
notifiers:
  - { name: ops, type: webhook, url: "${url}" }
`;

describe("alerts that follow the topology, with real agents stopped", () => {
  let dir: string;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let receiver: WebhookReceiver;
  const agents = new Map<string, RunningAgent>();
  const paged = () => receiver.paged();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-topology-agents-"));
    nats = await startNatsServer();
    database = await createTestDatabase();
    const db = openDatabase(database.url);
    await migrateToLatest(db);
    await importTopology(db, parseTopologyFile(TOPOLOGY));
    await db.destroy();
    receiver = await startWebhookReceiver();
    writeFileSync(join(dir, "netmap.yaml"), CONFIG(receiver.url));
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: { NETMAP_CONFIG: join(dir, "netmap.yaml") } });
    for (const host of HOSTS) {
      agents.set(host, startAgentProcess(process.execPath, [main, "--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, host), "--agent-id", `agent-${host}`], { env: { ...process.env, NETMAP_LOG_LEVEL: "warn" } }));
    }
    await eventually(async () => {
      const { body } = await collector.get("/api/v1/hosts");
      return HOSTS.every((name) => body.hosts.some((h: { agentId: string; status: string }) => h.agentId === `agent-${name}` && h.status === "up"));
    }, "every placed host reporting", 60_000); // four agents starting from source on a loaded machine
  });

  after(async () => {
    for (const agent of agents.values()) await stopAgent(agent);
    await collector?.stop();
    await receiver?.close();
    await nats?.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async () => (await collector.get("/api/v1/alerts")).body.alerts as Array<{ rule: string; state: string; labels: Record<string, string>; annotations: Record<string, string> }>;

  test("a bastion and the hosts behind it stopping page once, for the bastion, naming them; theirs are shown inhibited", async () => {
    for (const host of ["gw1", "web01", "web02"]) await stopAgent(agents.get(host)!);
    await eventually(async () => (await open()).filter((a) => a.rule === "HostDown" && a.state === "firing").length === 3, "three HostDown firing", 60_000);
    await eventually(async () => receiver.pages.length >= 1, "the page");
    await new Promise((resolve) => setTimeout(resolve, 12_000)); // one more absence tick: nothing else pages
    assert.deepEqual(paged(), ["HostDown:gw1:firing"]);
    assert.equal(receiver.pages[0]!.alerts[0]!.annotations.hosts_behind, "2");
    assert.match(receiver.pages[0]!.alerts[0]!.annotations.summary!, /^gw1 has sent no report for \d+ s; 2 hosts behind it unreachable: web01, web02$/);
    const shown = (await open()).filter((a) => a.rule === "HostDown").map((a) => `${a.labels.host}<${a.annotations.inhibited_by ?? "-"}`).sort();
    assert.deepEqual(shown, ["gw1<-", "web01<gw1", "web02<gw1"]);
  });

  test("the last host of the site stopping pages one SiteUnreachable, and nothing for the host", async () => {
    await stopAgent(agents.get("db01")!);
    await eventually(async () => (await open()).some((a) => a.rule === "SiteUnreachable" && a.state === "firing"), "SiteUnreachable firing", 60_000);
    await eventually(async () => paged().length >= 2, "the second page");
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    assert.deepEqual(paged().slice(1), ["SiteUnreachable:paris:firing"]);
    const db01 = (await open()).find((a) => a.rule === "HostDown" && a.labels.host === "db01")!;
    assert.equal(db01.annotations.inhibited_by, "site paris");
  });
});
