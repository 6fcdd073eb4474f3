// Silences and acknowledgements against a real `netmap serve` (in this process, private NATS,
// fresh database, a webhook receiver) and the real `netmap` CLI as child processes.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { WebhookPayload } from "../../collector/src/alerts/notifiers/webhook.ts";
import { encodeReport } from "../../proto/src/codec.ts";
import { reportMessageId, reportSubject } from "../../proto/src/subjects.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { eventually } from "../helpers/wait.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { sampleReport } from "../helpers/reports.ts";
import { runProgram } from "../helpers/run.ts";

const MAIN = new URL("../../collector/src/main.ts", import.meta.url).pathname;
const GiB = 1024 ** 3;

const run = (args: string[], env: Record<string, string>) => runProgram(process.execPath, [MAIN, ...args], { env });

describe("silences and acknowledgements through the API and the CLI", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  let receiver: Server;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let dir: string;
  let env: Record<string, string>;
  const webhooks: WebhookPayload[] = [];
  const seqs = new Map<string, number>();

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), "netmap-silences-"));
    const hookPort = await freePort();
    receiver = createServer((request, response) => {
      let body = "";
      request.on("data", (c) => (body += c));
      request.on("end", () => {
        webhooks.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(hookPort, "127.0.0.1", resolve));
    writeFileSync(join(dir, "netmap.yaml"), `notifiers:\n  - name: ops\n    type: webhook\n    url: http://127.0.0.1:${hookPort}/hook\nrules:\n  FilesystemAlmostFull:\n    for: 0s\n`);
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url, env: { NETMAP_CONFIG: join(dir, "netmap.yaml") } });
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    env = { PATH: process.env.PATH!, HOME: dir, XDG_STATE_HOME: dir, USER: "alice", NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token };
  });

  let stopped = false;

  after(async () => {
    await nc?.close();
    if (!stopped) await collector?.stop();
    receiver?.close();
    await database?.drop();
    await nats?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const netmap = (...args: string[]) => run(args, env);
  /** A report from `hostname` with /srv at usedGiB of 10 GiB. */
  const report = async (hostname: string, usedGiB: number) => {
    const seq = (seqs.get(hostname) ?? 0) + 1;
    seqs.set(hostname, seq);
    const r = sampleReport({
      agentId: `agent-${hostname}`,
      hostname,
      seq,
      collectedAt: new Date(),
      mounts: [{ mountpoint: "/srv", device: "/dev/loop0", fsType: "ext4", sizeBytes: 10 * GiB, usedBytes: usedGiB * GiB, availableBytes: (10 - usedGiB) * GiB, inodesTotal: 1000, inodesUsed: 1 }],
    });
    await js.publish(reportSubject(r.agentId), encodeReport(r), { msgID: reportMessageId(r.agentId, r.bootId, r.seq) });
  };
  const hooksFor = (host: string, status: string) =>
    webhooks.filter((w) => w.alerts.some((a) => a.status === status && a.labels.host === host && a.labels.alertname === "FilesystemAlmostFull"));
  const openAlerts = async () => {
    const r = await netmap("alerts", "--json");
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).alerts as Array<{ fingerprint: string; rule: string; state: string; labels: Record<string, string>; acknowledged: { by: string; comment: string } | null }>;
  };
  const fsAlert = async (host: string) => (await openAlerts()).find((a) => a.rule === "FilesystemAlmostFull" && a.labels.host === host);

  let silenceId: string;

  test("usage mistakes exit 2 with a clear message", async () => {
    const noMatcher = await netmap("silence", "add", "--duration", "2h", "--comment", "x");
    assert.equal(noMatcher.code, 2);
    assert.match(noMatcher.stderr, /usage: netmap silence add MATCHER/);
    const bad = await netmap("silence", "add", "host", "--duration", "2h", "--comment", "x");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected name=value or name=~regex/);
    const noComment = await netmap("silence", "add", "host=a", "--duration", "2h");
    assert.equal(noComment.code, 2);
    assert.match(noComment.stderr, /--comment is required/);
    assert.equal((await netmap("silence", "frob")).code, 2);
    assert.equal((await netmap("ack")).code, 2);
    const unknown = await netmap("silence", "expire", "00000000-0000-0000-0000-000000000000");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no silence/);
  });

  test("a silence mutes the firing webhook of a matching alert, not of another; the alert still fires", async () => {
    const added = await netmap("silence", "add", "host=~web.*", "alertname=FilesystemAlmostFull", "--duration", "2h", "--comment", "disk swap tonight");
    assert.equal(added.code, 0, added.stderr);
    silenceId = added.stdout.trim();
    assert.match(silenceId, /^[0-9a-f-]{36}$/);

    const ls = await netmap("silence", "ls");
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${silenceId}\\s+active\\s+\\S+\\s+alice\\s+host=~"web\\.\\*" alertname="FilesystemAlmostFull"\\s+disk swap tonight`));
    const api = await collector.get("/api/v1/silences");
    assert.equal(api.body.silences[0].id, silenceId);
    assert.equal(api.body.silences[0].status.state, "active");

    await report("web01", 9);
    await report("db01", 9);
    await eventually(async () => hooksFor("db01", "firing").length === 1, "db01's firing webhook");
    await eventually(async () => (await fsAlert("web01"))?.state === "firing", "web01's alert firing (stored, though silenced)");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hooksFor("web01", "firing").length, 0, "web01 is silenced");
  });

  test("an acknowledgement shows in netmap alerts (--json and the table) and in the API", async () => {
    const db01 = (await fsAlert("db01"))!;
    assert.equal(db01.acknowledged, null);
    const ack = await netmap("ack", db01.fingerprint, "--comment", "on it");
    assert.equal(ack.code, 0, ack.stderr);
    assert.equal(ack.stdout, `acknowledged ${db01.fingerprint}\n`);
    const after = (await fsAlert("db01"))!;
    assert.deepEqual({ by: after.acknowledged?.by, comment: after.acknowledged?.comment }, { by: "alice", comment: "on it" });
    const table = await netmap("alerts");
    assert.match(table.stdout, /^SEVERITY\s+STATE\s+RULE\s+HOST\s+SINCE\s+ACK/);
    assert.match(table.stdout, new RegExp(`\\S+\\s+firing\\s+FilesystemAlmostFull\\s+db01\\s+\\S+\\s+alice\\s+${db01.fingerprint}`));
    const api = await collector.get("/api/v1/alerts");
    assert.equal(api.body.alerts.find((a: { fingerprint: string }) => a.fingerprint === db01.fingerprint).acknowledged.by, "alice");
    const unknown = await collector.fetch("/api/v1/alerts/nope/ack", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "NOT_FOUND");
  });

  test("--watch prints the open alerts, then a transition as it happens; resolves: db01's sent, silenced web01's not", async () => {
    const watch: ChildProcess = spawn(process.execPath, [MAIN, "alerts", "--watch"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    watch.stdout!.on("data", (d) => (out += d));
    try {
      await eventually(async () => /open\s+firing\s+warning\s+FilesystemAlmostFull\s+db01/.test(out), "the watch's open alerts");
      await report("db01", 1);
      await eventually(async () => /closed\s+closed\s+warning\s+FilesystemAlmostFull\s+db01/.test(out), "the watch to print db01's resolve");
    } finally {
      const exited = new Promise((resolve) => watch.once("exit", (code) => resolve(code)));
      watch.kill("SIGINT");
      assert.equal(await exited, 0, "Ctrl-C ends the watch cleanly");
    }
    await eventually(async () => hooksFor("db01", "resolved").length === 1, "db01's resolved webhook");

    await report("web01", 1);
    await eventually(async () => !(await fsAlert("web01")), "web01's alert resolved");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hooksFor("web01", "resolved").length, 0, "a silenced firing's resolve is not sent either");
  });

  test("an expired silence no longer mutes", async () => {
    const expired = await netmap("silence", "expire", silenceId);
    assert.equal(expired.code, 0, expired.stderr);
    const ls = JSON.parse((await netmap("silence", "ls", "--json")).stdout);
    assert.equal(ls.silences.find((s: { id: string }) => s.id === silenceId).status.state, "expired");
    await report("web01", 9);
    await eventually(async () => hooksFor("web01", "firing").length === 1, "web01's firing webhook once the silence expired");
  });

  test("the HTTP API validates silences and expires them with DELETE", async () => {
    const post = (body: unknown) =>
      collector.fetch("/api/v1/silences", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const bad = await post({ matchers: [{ name: "host", value: "(", isRegex: true }], durationSeconds: 60, comment: "x" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /invalid regular expression/);
    const ok = await post({ matchers: [{ name: "host", value: "db01", isRegex: false }], endsAt: new Date(Date.now() + 3600_000).toISOString(), createdBy: "bob", comment: "maintenance" });
    assert.equal(ok.status, 201);
    const { silenceID } = (await ok.json()) as { silenceID: string };
    const del = await collector.fetch(`/api/v1/silences/${silenceID}`, { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.ok(new Date(((await del.json()) as { silence: { endsAt: string } }).silence.endsAt) <= new Date());
    const missing = await collector.fetch("/api/v1/silences/not-an-id", { method: "DELETE" });
    assert.equal(missing.status, 404);
  });

  test("a watcher hears when the collector stops: exit 1 and why", async () => {
    const watch = spawn(process.execPath, [MAIN, "alerts", "--watch"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    watch.stdout.on("data", (d) => (out += d));
    watch.stderr.on("data", (d) => (err += d));
    const exited = new Promise((resolve) => watch.once("exit", (code) => resolve(code)));
    await eventually(async () => /open\s+firing/.test(out), "the watch's open alerts");
    stopped = true;
    const started = Date.now();
    await collector.stop();
    assert.ok(Date.now() - started < 1500, "the stop does not wait for the watcher");
    assert.equal(await exited, 1);
    assert.match(err, /ended the watch/);
  });
});
