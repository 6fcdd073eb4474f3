// The example subscribers of examples/ against a real nats-server whose users carry the
// permission blocks as shipped (deploy/nats/integration-permissions.conf for each example,
// the COLLECTOR block for the publisher), events published the way the collector publishes
// them (publishAlertEvents, publishInventoryEvents) into the real NETMAP_EVENTS stream.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { COLLECTOR_INBOX_PREFIX } from "../../proto/src/subjects.ts";
import { ensureEventStream, publishAlertEvents } from "../../collector/src/alerts/events.ts";
import type { Transition } from "../../collector/src/alerts/engine.ts";
import { publishInventoryEvents } from "../../collector/src/proxmox/poller.ts";
import type { InventoryEvent } from "../../proto/gen/netmap/v1/inventory.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { authorization, integrationPermissions } from "../helpers/nats-permissions.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PASSWORDS = { collector: randomBytes(12).toString("hex"), chatops: randomBytes(12).toString("hex"), inventory: randomBytes(12).toString("hex") };

function transition(host: string, to: "firing" | "resolved"): Transition {
  const at = new Date("2026-12-01T10:00:00Z");
  return {
    to,
    alert: {
      fingerprint: "0123456789abcdef", rule: "FilesystemAlmostFull", severity: "warning", labels: { host, mountpoint: "/" },
      annotations: { summary: `/ on ${host} is 91 % full` }, state: to, value: 91, activeSince: at, startsAt: at, endsAt: to === "resolved" ? new Date(at.getTime() + 60_000) : null,
    },
  } as Transition;
}

function inventory(name: string, change: "added" | "changed" | "removed", hostId: number): InventoryEvent {
  return {
    change, hostId, client: "acme", site: "paris", name, kind: "vm", parent: "pve1", source: "proxmox", cluster: "lab", node: "pve1", vmid: 100 + hostId,
    status: "running", tags: ["web"], macs: ["52:54:00:00:00:01"], addresses: ["10.0.0.5"], image: "", stale: false, changed: change === "changed" ? ["status"] : [], at: new Date("2026-12-01T10:00:00Z"),
  };
}

describe("example subscribers: durable consumers of NETMAP_EVENTS with an integration's own user", { timeout: 300_000 }, () => {
  let dir: string;
  let nats: TestNatsServer;
  let publisher: NatsConnection;
  let webhook: Server;
  let webhookUrl: string;
  let failNext = 0;
  const posted: string[] = [];
  const running: RunningAgent[] = [];

  function example(script: string, user: keyof typeof PASSWORDS, args: string[]): RunningAgent {
    const child = startAgentProcess(process.execPath, [join(ROOT, "examples", script), "--nats", nats.url, "--durable", user, ...args], {
      env: { PATH: process.env.PATH!, NATS_USER: user, NATS_PASSWORD: PASSWORDS[user] },
    });
    running.push(child);
    return child;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-examples-"));
    const port = await freePort();
    const q = JSON.stringify;
    const config = join(dir, "nats-server.conf");
    writeFileSync(config, [
      `listen: "127.0.0.1:${port}"`,
      authorization([], [
        { login: `user: "netmap-collector", password: ${q(PASSWORDS.collector)}`, permissions: "COLLECTOR" },
        { login: `user: "chatops", password: ${q(PASSWORDS.chatops)}`, permissions: "INTEGRATION_chatops" },
        { login: `user: "inventory", password: ${q(PASSWORDS.inventory)}`, permissions: "INTEGRATION_inventory" },
      ], [integrationPermissions("chatops"), integrationPermissions("inventory")]),
      "",
    ].join("\n"));
    nats = await startNatsServer({ configFile: config, port });
    publisher = await connect({ servers: nats.url, user: "netmap-collector", pass: PASSWORDS.collector, inboxPrefix: COLLECTOR_INBOX_PREFIX });
    await ensureEventStream(publisher);

    webhook = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end();
          return;
        }
        posted.push(JSON.parse(body).text);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
  });

  after(async () => {
    await Promise.all(running.map(stopAgent));
    await publisher?.close();
    webhook?.close();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("alerts-to-chat: replays the history, posts each event once in order, escaped, retries a failed post, resumes after a stop", async () => {
    const hostile = "<!channel> *web01*";
    publishAlertEvents(publisher, [transition(hostile, "firing")], "http://netmap.example:7070/");
    await publisher.flush();

    let chat = example("alerts-to-chat.ts", "chatops", ["--webhook", webhookUrl]);
    await eventually(() => posted.length === 1, withLog("the event published before it started", chat.stderr), 60_000);
    assert.equal(posted[0], ":warning: FIRING FilesystemAlmostFull (warning) host=&lt;!channel&gt; *\u200bweb01*\u200b mountpoint=/: / on &lt;!channel&gt; *\u200bweb01*\u200b is 91 % full <http://netmap.example:7070/#alert=0123456789abcdef|details>");

    // The webhook fails once: the event comes again.
    failNext = 1;
    publishAlertEvents(publisher, [transition("db01", "resolved")], "http://netmap.example:7070/");
    await eventually(() => posted.length === 2, withLog("the resolved event after a failed post", chat.stderr), 60_000);
    assert.match(posted[1]!, /^:white_check_mark: RESOLVED FilesystemAlmostFull \(warning\) host=db01 /);
    assert.equal(failNext, 0);

    // Stopped: what is published meanwhile is posted once it is back, and nothing before it again.
    assert.equal(await stopAgent(chat), 0);
    publishAlertEvents(publisher, [transition("db02", "firing")], "http://netmap.example:7070/");
    await publisher.flush();
    chat = example("alerts-to-chat.ts", "chatops", ["--webhook", webhookUrl]);
    await eventually(() => posted.length === 3, withLog("the event published while it was stopped", chat.stderr), 60_000);
    assert.match(posted[2]!, /host=db02/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(posted.length, 3, "nothing posted twice");
  });

  it("inventory-to-csv: one row per change, in order, a would-be formula inert, no row twice across a stop", async () => {
    const csv = join(dir, "inventory.csv");
    publishInventoryEvents(publisher, [inventory("web01", "added", 1), inventory("=HYPERLINK(\"http://x\")", "added", 2)]);
    await publisher.flush();
    let writer = example("inventory-to-csv.ts", "inventory", ["--csv", csv]);
    const rows = () => (existsSync(csv) ? readFileSync(csv, "utf8").trimEnd().split("\r\n") : []);
    await eventually(() => rows().length === 3, withLog("header and two rows", writer.stderr), 60_000);
    assert.equal(rows()[0], '"seq","at","change","host_id","client","site","name","kind","parent","source","status","addresses","macs","tags","changed","stale"');
    assert.match(rows()[1]!, /^"\d+","2026-12-01T10:00:00.000Z","added","1","acme","paris","web01","vm","pve1","proxmox","running","10.0.0.5","52:54:00:00:00:01","web","","false"$/);
    assert.match(rows()[2]!, /,"'=HYPERLINK\(""http:\/\/x""\)",/);

    assert.equal(await stopAgent(writer), 0);
    publishInventoryEvents(publisher, [inventory("web01", "changed", 1), inventory("web01", "removed", 1)]);
    await publisher.flush();
    writer = example("inventory-to-csv.ts", "inventory", ["--csv", csv]);
    await eventually(() => rows().length === 5, withLog("two more rows", writer.stderr), 60_000);
    assert.deepEqual(rows().slice(1).map((row) => row.split(",")[2]), ['"added"', '"added"', '"changed"', '"removed"']);
    const seqs = rows().slice(1).map((row) => Number(/^"(\d+)"/.exec(row)![1]));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, 4, "no row twice");
  });
});
