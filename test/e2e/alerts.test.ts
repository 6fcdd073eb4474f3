// Alerting end to end, against real pieces: a loop-mounted ext4 filesystem on
// this machine filled past the threshold, a real agent process, NATS, the
// collector process, and a webhook receiver checking the signature.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { verifySignature, type WebhookPayload } from "../../collector/src/alerts/notifiers/webhook.ts";
import { eventually } from "../helpers/wait.ts";
import { freePort, startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const root = new URL("../../", import.meta.url).pathname;
const SECRET = "e2e-webhook-secret";
let nats: TestNatsServer;
let database: TestDatabase;
let dir: string;
let mountpoint: string;
let receiver: Server;
let collector: ChildProcess;
let agent: ChildProcess | undefined;
let httpPort: number;
const webhooks: Array<{ payload: WebhookPayload; verified: boolean }> = [];

function start(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (d) => (errors += d));
  child.once("exit", (code) => code && process.stderr.write(`${script} exited ${code}: ${errors}\n`));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); });
}

const startAgent = () => start("agent/src/main.ts", ["--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, "spool")]);
const alertsNamed = (rule: string, status: string) =>
  webhooks.filter((w) => w.payload.status === status && w.payload.alerts.some((a) => a.labels.alertname === rule && (!a.labels.mountpoint || a.labels.mountpoint === mountpoint)));

before(async () => {
  nats = await startNatsServer();
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), "netmap-e2e-alerts-"));
  mountpoint = join(dir, "mnt");
  mkdirSync(mountpoint);
  execFileSync("truncate", ["-s", "64M", join(dir, "fs.img")]);
  execFileSync("mkfs.ext4", ["-q", "-m", "0", join(dir, "fs.img")]);
  execFileSync("mount", ["-o", "loop", join(dir, "fs.img"), mountpoint]);

  const hookPort = await freePort();
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (c) => (body += c));
    request.on("end", () => {
      const verified = verifySignature(SECRET, { signature: String(request.headers["x-netmap-signature"]), timestamp: String(request.headers["x-netmap-timestamp"]) }, body);
      webhooks.push({ payload: JSON.parse(body), verified });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(hookPort, "127.0.0.1", resolve));

  writeFileSync(join(dir, "ops.secret"), `${SECRET}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, "netmap.yaml"),
    `notifiers:
  - name: ops
    type: webhook
    url: http://127.0.0.1:${hookPort}/hook
    secret_file: ${join(dir, "ops.secret")}
rules:
  FilesystemAlmostFull:
    for: 0s
  HostDown:
    for: 0s
`,
  );
  httpPort = await freePort();
  collector = start("collector/src/main.ts", ["serve", "--config", join(dir, "netmap.yaml")], {
    NETMAP_NATS_URL: nats.url,
    NETMAP_DATABASE_URL: database.url,
    NETMAP_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    // A free gRPC port and a token of its own: no clash with a collector on 7071, no token file written.
    NETMAP_GRPC_ADDR: "127.0.0.1:0",
    NETMAP_TOKEN: "e2e-test-token",
  });
  await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok, "the collector", 90_000);
  agent = startAgent();
});

after(async () => {
  await stop(agent);
  await stop(collector);
  receiver?.close();
  if (mountpoint) execFileSync("umount", ["-l", mountpoint], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
  await nats?.close();
});

test("filling a real filesystem past 85% fires a signed webhook naming the mount; freeing it resolves it", async () => {
  const fs = statfsSync(mountpoint);
  const fill = Math.floor(fs.bavail * fs.bsize * 0.92);
  execFileSync("fallocate", ["-l", String(fill), join(mountpoint, "ballast")]);
  const [firing] = await eventually(async () => alertsNamed("FilesystemAlmostFull", "firing").length > 0 && alertsNamed("FilesystemAlmostFull", "firing"), "the firing webhook", 20_000);
  assert.equal(firing!.verified, true, "signed with the configured secret");
  const alert = firing!.payload.alerts.find((a) => a.labels.mountpoint === mountpoint)!;
  assert.equal(alert.labels.severity, "warning");
  assert.match(alert.annotations.summary!, new RegExp(`${mountpoint} on .+ is 9\\d\\.\\d% full`));

  rmSync(join(mountpoint, "ballast"));
  const [resolved] = await eventually(async () => alertsNamed("FilesystemAlmostFull", "resolved").length > 0 && alertsNamed("FilesystemAlmostFull", "resolved"), "the resolved webhook", 20_000);
  assert.equal(resolved!.payload.alerts[0]!.fingerprint, alert.fingerprint);
  assert.equal(alertsNamed("FilesystemAlmostFull", "firing").length, 1, "fired once");

  // Both deliveries are in the delivery log, queryable from the API.
  const log = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/alerts/deliveries?receiver=ops&fingerprint=${alert.fingerprint}`, { headers: { authorization: "Bearer e2e-test-token" } })).json()) as {
    deliveries: Array<{ delivered: boolean; status: number; final: boolean }>;
  };
  assert.equal(log.deliveries.length, 2);
  assert.ok(log.deliveries.every((d) => d.delivered && d.status === 204 && d.final));
});

test("a stopped agent raises HostDown once, and its return resolves it once", async () => {
  await stop(agent);
  await eventually(async () => alertsNamed("HostDown", "firing").length > 0, "HostDown to fire", 60_000);
  agent = startAgent();
  await eventually(async () => alertsNamed("HostDown", "resolved").length > 0, "HostDown to resolve", 30_000);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(alertsNamed("HostDown", "firing").length, 1);
  assert.equal(alertsNamed("HostDown", "resolved").length, 1);
});
