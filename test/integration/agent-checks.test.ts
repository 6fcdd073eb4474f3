// The agent's synthetic checks against real servers: an HTTPS server whose
// certificate (made by openssl) expires in 5 days, a TCP port nobody listens
// on. The real agent (--once --json) reports them; the collector's rules
// fire CertificateExpiring and CheckFailed, and resolve them once the
// certificate is renewed and the port answers.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { AlertEvaluator } from "../../collector/src/alerts/evaluator.ts";
import { openAlerts } from "../../collector/src/alerts/repository.ts";
import { rulesConfigSchema } from "../../collector/src/alerts/settings.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { checkReport } from "../../proto/src/report-check.ts";
import { freePort } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const run = promisify(execFile);
const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;

/** A CA and a certificate for 127.0.0.1 it signed, valid `days` days from now. */
async function certificate(dir: string, days: number): Promise<{ ca: string; cert: string; key: string }> {
  const at = (name: string) => join(dir, `${name}-${days}`);
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "30", "-subj", "/CN=netmap test CA"]);
  await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", at("key.pem"), "-out", at("csr.pem"), "-subj", "/CN=127.0.0.1"]);
  writeFileSync(at("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  await run("openssl", ["x509", "-req", "-in", at("csr.pem"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("cert.pem"), "-days", String(days), "-extfile", at("ext.cnf")]);
  return { ca: at("ca.pem"), cert: at("cert.pem"), key: at("key.pem") };
}

describe("synthetic checks, agent to alert", () => {
  let dir: string;
  let database: TestDatabase;
  let db: Db;
  let hostId: number;
  let https: HttpsServer | undefined;
  let tcp: TcpServer | undefined;
  let httpsPort: number;
  let tcpPort: number;
  const evaluator = () => new AlertEvaluator({ db, rules: rulesConfigSchema.parse({ CheckFailed: { for: "0s" } }), log: pino({ level: "silent" }), notify: () => {} });
  let judge: AlertEvaluator;

  async function serveHttps(days: number) {
    https?.close();
    const { cert, key, ca } = await certificate(dir, days);
    https = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (request, response) => {
      response.writeHead(request.url === "/broken" ? 503 : 200).end("ok\n");
    });
    await new Promise<void>((resolve) => https!.listen(httpsPort, "127.0.0.1", resolve));
    return ca;
  }

  /** The agent's report of one run with these checks, checked as the collector checks it. */
  async function agentReport(ca: string): Promise<HostReport> {
    const config = join(dir, "agent.yaml");
    writeFileSync(config, [
      "checks:",
      `  - { name: shop, type: http, url: "https://127.0.0.1:${httpsPort}/health", ca_file: ${ca}, timeout: 2s }`,
      `  - { name: shop-broken, type: http, url: "https://127.0.0.1:${httpsPort}/broken", ca_file: ${ca}, timeout: 2s }`,
      `  - { name: db, type: tcp, address: "127.0.0.1:${tcpPort}", timeout: 2s }`,
      "",
    ].join("\n"));
    const { stdout } = await run(process.execPath, [main, "--once", "--json", "--config", config, "--agent-id", "checks-test"], { env: { ...process.env, NETMAP_LOG_LEVEL: "error" } });
    return checkReport(HostReport.fromJSON(JSON.parse(stdout)));
  }

  async function openOf(rule: string) {
    return (await openAlerts(db)).filter((a) => a.rule === rule).map((a) => `${a.labels.check}:${a.severity}:${a.state}`).sort();
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-checks-"));
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    hostId = (await db.insertInto("hosts").values({ agent_id: "checks-test", hostname: "web01" }).returning("id").executeTakeFirstOrThrow()).id;
    [httpsPort, tcpPort] = [await freePort(), await freePort()];
    judge = evaluator();
  });

  after(async () => {
    https?.close();
    tcp?.close();
    await db?.destroy();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the agent reports each check's status, latency and the certificate's days left, and why a check failed", async () => {
    const ca = await serveHttps(5);
    const report = await agentReport(ca);
    const [shop, broken, tcpCheck] = report.checks;
    assert.deepEqual(report.checks.map((c) => [c.name, c.success]), [["shop", true], ["shop-broken", false], ["db", false]]);
    assert.equal(shop!.httpStatus, 200);
    assert.ok(shop!.latencySeconds! > 0 && shop!.latencySeconds! < 2, `latency ${shop!.latencySeconds}`);
    assert.ok(Math.abs(shop!.certificateDaysLeft! - 5) < 0.1, `5 days left, not ${shop!.certificateDaysLeft}`);
    assert.deepEqual([broken!.httpStatus, broken!.error], [503, "HTTP 503"]);
    assert.equal(tcpCheck!.target, `127.0.0.1:${tcpPort}`);
    assert.match(tcpCheck!.error, /ECONNREFUSED/);
    assert.deepEqual(report.collectors.at(-1), { ...report.collectors.at(-1)!, name: "checks", success: true });
  });

  test("a certificate expiring in 5 days fires CertificateExpiring; a port that refuses fires CheckFailed naming why", async () => {
    const ca = await serveHttps(5);
    const moved = await judge.judge([{ hostId, host: "web01", report: await agentReport(ca) }]);
    const cert = moved.find((t) => t.alert.rule === "CertificateExpiring")!;
    assert.equal(cert.alert.annotations.summary, `the certificate of https://127.0.0.1:${httpsPort}/health (check shop on web01) expires in ${cert.alert.value.toFixed(1)} days`);
    // Both http checks reach the same server: its certificate is judged on each.
    assert.deepEqual(await openOf("CertificateExpiring"), ["shop-broken:warning:firing", "shop:warning:firing"], "5 days is within the 14-day warning, not the 3-day critical");
    assert.deepEqual(await openOf("CheckFailed"), ["db:critical:firing", "shop-broken:critical:firing"]);
    const db01 = (await openAlerts(db)).find((a) => a.labels.check === "db")!;
    assert.match(db01.annotations.summary!, new RegExp(`^tcp check db on web01 fails: .*ECONNREFUSED.* \\(127\\.0\\.0\\.1:${tcpPort}\\)$`));
  });

  test("a renewed certificate and a port that answers resolve them", async () => {
    const ca = await serveHttps(90);
    tcp = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => tcp!.listen(tcpPort, "127.0.0.1", resolve));
    const report = await agentReport(ca);
    assert.ok(report.checks[0]!.certificateDaysLeft! > 89);
    const moved = await judge.judge([{ hostId, host: "web01", report }]);
    assert.deepEqual(moved.map((t) => `${t.alert.rule}:${t.alert.labels.check}:${t.to}`).sort(), ["CertificateExpiring:shop-broken:resolved", "CertificateExpiring:shop:resolved", "CheckFailed:db:resolved"]);
    assert.deepEqual(await openOf("CheckFailed"), ["shop-broken:critical:firing"]);
  });

  test("a check left out of the configuration resolves its alerts", async () => {
    const report = await agentReport(join(dir, "ca.pem-90"));
    report.checks = report.checks.filter((c) => c.name !== "shop-broken");
    await judge.judge([{ hostId, host: "web01", report }]);
    assert.deepEqual(await openOf("CheckFailed"), []);
  });
});
