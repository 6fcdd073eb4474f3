// Alerts that follow the topology, proven with the network cut rather than agents stopped:
// the rollout lab routed (this machine ⇄ bastion1 ⇄ bastion2 ⇄ t01–t03 on its bridge, one
// network namespace each, the bastions forwarding), a real agent inside each namespace
// reporting to a nats-server on this machine's end of the WAN through its bastions, the
// collector (`netmap serve`) judging silence on its own ticker, and a real webhook receiver.
// bastion2's link taken down: one page, for bastion2, naming the three hosts behind it; theirs
// shown inhibited, never paged. The WAN cut: one SiteUnreachable. Each time the link comes back
// (the agents reconnect and send what they spooled), everything resolves, and only what paged
// pages its resolve.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { parseTopologyFile } from "../../collector/src/topology/file.ts";
import { importTopology } from "../../collector/src/topology/repository.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { netnsUnavailable } from "../helpers/netns.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { createRolloutLab, type RolloutLab } from "../helpers/rollout-lab.ts";
import { eventually, withLog } from "../helpers/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const TARGETS = ["t01", "t02", "t03"];
const HOSTS = ["bastion1", "bastion2", ...TARGETS];
const VIA: Record<string, string> = { bastion2: "bastion1", t01: "bastion2", t02: "bastion2", t03: "bastion2" };
// Silence is judged after max(3 intervals, 30 s), on a 10 s tick. `for` is one tick: hosts cut at
// the same moment may cross the 30 s a tick apart, and a bastion judged down alone on the first
// tick must not page before its hosts are judged behind it on the next.
const CONFIG = (url: string) => `
rules:
  HostDown: { for: 10s }
  SiteUnreachable: { for: 10s }
  Watchdog: { enabled: false }   # the heartbeat would reach this webhook every minute; pages here are counted
notifiers:
  - { name: ops, type: webhook, url: "${url}" }
`;

interface OpenAlert {
  rule: string;
  state: string;
  value: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe("alerts that follow the topology, with a bastion's network taken down (namespaces, real agents)", () => {
  let dir: string;
  let lab: RolloutLab;
  let nats: TestNatsServer;
  let database: TestDatabase;
  let db: Db;
  let collector: TestCollector;
  let receiver: WebhookReceiver;
  const agents = new Map<string, RunningAgent>();

  before(async () => {
    // Root and iproute2 are what the lab needs (.ci/run has them): fail, never skip.
    const unavailable = netnsUnavailable();
    if (unavailable) throw new Error(`cannot build the lab: ${unavailable}`);
    dir = mkdtempSync(join(tmpdir(), "netmap-topology-netns-"));
    lab = await createRolloutLab({ targets: TARGETS.length, wanRate: "100mbit", routed: true });
    nats = await startNatsServer({ address: lab.gateway });
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    const address = (name: string) => lab.hosts.find((h) => h.name === name)!.address;
    const topology = [
      "clients:",
      "  - name: lab",
      "    sites:",
      "      - name: wan",
      "        bastion: bastion1",
      "        hosts:",
      ...HOSTS.map((name) => `          - { name: ${name}, address: ${address(name)}, agent_id: agent-${name}${VIA[name] ? `, via: ${VIA[name]}` : ""} }`),
    ].join("\n");
    await importTopology(db, parseTopologyFile(topology));
    receiver = await startWebhookReceiver();
    writeFileSync(join(dir, "netmap.yaml"), CONFIG(receiver.url));
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: { NETMAP_CONFIG: join(dir, "netmap.yaml") } });
    for (const name of HOSTS) {
      const ns = lab.hosts.find((h) => h.name === name)!.ns;
      const args = ["netns", "exec", ns, process.execPath, main, "--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, name), "--agent-id", `agent-${name}`];
      agents.set(name, startAgentProcess("ip", args, { env: { ...process.env, NETMAP_LOG_LEVEL: "warn" } }));
    }
    await eventually(async () => {
      const { body } = await collector.get("/api/v1/hosts");
      return HOSTS.every((name) => body.hosts.some((h: { agentId: string; status: string }) => h.agentId === `agent-${name}` && h.status === "up"));
    }, withLog("every agent reporting through its bastions", () => [...agents].map(([name, a]) => `${name}: ${a.stderr()}`).join("\n")), 60_000);
  });

  after(async () => {
    for (const agent of agents.values()) await stopAgent(agent);
    await collector?.stop();
    await receiver?.close();
    await nats?.close();
    await db?.destroy();
    await database?.drop();
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = async () => (await collector.get("/api/v1/alerts")).body.alerts as OpenAlert[];
  const firing = async (rule: string) => (await open()).filter((a) => a.rule === rule && a.state === "firing");
  /** Every transition stored has been handed to the notifiers (or muted): nothing more will page for it. */
  const outboxEmpty = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM alert_outbox`.execute(db)).rows[0]!.n) === 0;
  /** Waits for the absence check to judge once more: a silent host's HostDown value (its age) moves each tick. */
  const aTickLater = async (host: string) => {
    const age = async () => (await firing("HostDown")).find((a) => a.labels.host === host)?.value;
    const before = await age();
    await eventually(async () => (await age()) !== before && (await outboxEmpty()), "another absence check, its pages sent", 30_000);
  };
  /**
   * The pages since `from` are `expected`: waits for that many (a page leaves the outbox before its
   * HTTP request lands), then compares. Called once the outbox is empty, so none is still to come.
   */
  const pagedSince = async (from: number, expected: string[]) => {
    await eventually(() => receiver.paged().length >= from + expected.length, () => `${expected.length} pages, got ${JSON.stringify(receiver.paged().slice(from))}`);
    assert.deepEqual(receiver.paged().slice(from), expected);
  };
  /** Waits until no HostDown or SiteUnreachable is open and every page is out. */
  const allResolved = async () => {
    await eventually(async () => !(await open()).some((a) => a.rule === "HostDown" || a.rule === "SiteUnreachable") && (await outboxEmpty()), "every alert resolved", 90_000);
  };

  test("bastion2's link taken down pages once, for bastion2, naming the hosts behind it; theirs are shown inhibited, not paged", async () => {
    lab.cut("bastion2");
    await eventually(async () => (await firing("HostDown")).length === 4, "HostDown firing for bastion2 and its three hosts", 90_000);
    await aTickLater("t01");
    await pagedSince(0, ["HostDown:bastion2:firing"]);
    const page = receiver.pages[0]!.alerts[0]!;
    assert.equal(page.annotations.hosts_behind, "3");
    assert.match(page.annotations.summary!, /^bastion2 has sent no report for \d+ s; 3 hosts behind it unreachable: t01, t02, t03$/);
    const shown = (await firing("HostDown")).map((a) => `${a.labels.host}<${a.annotations.inhibited_by ?? "-"}`).sort();
    assert.deepEqual(shown, ["bastion2<-", "t01<bastion2", "t02<bastion2", "t03<bastion2"]);
    assert.equal((await firing("SiteUnreachable")).length, 0, "bastion1 still reports: the site is reachable");
  });

  test("bastion2's link back: every alert resolves, and only bastion2's resolve pages", async () => {
    lab.restore("bastion2");
    await allResolved();
    await pagedSince(1, ["HostDown:bastion2:resolved"]);
  });

  test("the WAN cut (bastion1's link down) pages one SiteUnreachable, and no HostDown", async () => {
    const already = receiver.paged().length;
    lab.cut("bastion1");
    await eventually(async () => (await firing("SiteUnreachable")).length === 1 && (await firing("HostDown")).length === 5, "SiteUnreachable and five HostDown firing", 90_000);
    await aTickLater("t01");
    await pagedSince(already, ["SiteUnreachable:wan:firing"]);
    const site = receiver.pages.at(-1)!.alerts[0]!;
    assert.equal(site.annotations.hosts_behind, "5");
    assert.match(site.annotations.summary!, /^every host of lab\/wan is down: 5 hosts silent \(bastion1, bastion2, t01, t02, t03\)$/);
    const shown = new Set((await firing("HostDown")).map((a) => a.annotations.inhibited_by));
    assert.deepEqual([...shown], ["site wan"]);
  });

  test("the WAN back: every alert resolves, and only SiteUnreachable's resolve pages", async () => {
    const already = receiver.paged().length;
    lab.restore("bastion1");
    await allResolved();
    await pagedSince(already, ["SiteUnreachable:wan:resolved"]);
  });
});
