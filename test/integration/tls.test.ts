// The collector's own TLS with a CA openssl makes for the test: HTTPS and gRPC over TLS, the
// CLI trusting NETMAP_CA or a pinned NETMAP_FINGERPRINT and refusing anything else, and a
// renewed certificate served after SIGHUP without a restart.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect } from "node:tls";
import { NETMAP_MAIN, startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import type { TestCollector } from "../helpers/collector.ts";
import { freePort } from "../helpers/nats-server.ts";
import { createTestCa, type TestCa, type TestCertificate } from "../helpers/tls.ts";
import { eventually } from "../helpers/wait.ts";

/** GET over HTTPS trusting ca; the status, or the TLS error's code. */
function httpsGet(url: string, ca?: Buffer, token?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    req.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

/** The SHA-256 fingerprint of the certificate a TLS server on port presents. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once("error", reject);
  });
}

const tlsConfig = (certificate: TestCertificate) =>
  `http: { tls: { cert_file: ${certificate.certFile}, key_file: ${certificate.keyFile} } }\ngrpc: { tls: { cert_file: ${certificate.certFile}, key_file: ${certificate.keyFile} } }\n`;

describe("TLS of the collector's own", () => {
  let testbed: CliTestbed;
  let collector: TestCollector;
  let dir: string;
  let ca: TestCa;
  let server: TestCertificate;
  // The testbed's NETMAP_URL is a plain HOST:PORT; each call says how to reach this TLS collector.
  const netmap = (args: string[], env: Record<string, string>) => testbed.netmap(args, env);

  before(async () => {
    testbed = await startCliTestbed({
      config: (testbedDir) => {
        ca = createTestCa(testbedDir);
        server = ca.issue("collector");
        return tlsConfig(server);
      },
    });
    ({ collector, dir } = testbed);
  });

  after(() => testbed?.close());

  test("the HTTP API is served over HTTPS with the configured certificate, which a client trusting the CA accepts", async () => {
    assert.match(collector.httpUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const caPem = readFileSync(ca.caFile);
    assert.equal(await httpsGet(new URL("/healthz", collector.httpUrl).href, caPem), 200);
    assert.equal(await httpsGet(new URL("/api/v1/hosts", collector.httpUrl).href, caPem, collector.token), 200);
    assert.equal(await httpsGet(new URL("/healthz", collector.httpUrl).href), "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "not trusted without the CA");
    const plain = await fetch(collector.httpUrl.replace("https:", "http:")).then((r) => r.status, (error: Error) => error.message);
    assert.notEqual(plain, 200, "no plain HTTP on the TLS port");
  });

  test("the CLI talks gRPC over TLS trusting NETMAP_CA, or the certificate NETMAP_FINGERPRINT pins", async () => {
    const withCa = await netmap(["hosts"], { NETMAP_URL: `https://${collector.grpcAddress}`, NETMAP_CA: ca.caFile });
    assert.equal(withCa.code, 0, withCa.stderr);
    assert.match(withCa.stdout, /no hosts|HOST/);
    const pinned = await netmap(["hosts"], { NETMAP_URL: collector.grpcAddress, NETMAP_FINGERPRINT: server.fingerprint.replaceAll(":", "").toLowerCase() });
    assert.equal(pinned.code, 0, pinned.stderr);
  });

  test("the CLI refuses a wrong fingerprint and an untrusted certificate, and plain gRPC gets nowhere", async () => {
    const wrong = "AA:".repeat(31) + "AA";
    const mismatch = await netmap(["hosts"], { NETMAP_URL: collector.grpcAddress, NETMAP_FINGERPRINT: wrong });
    assert.equal(mismatch.code, 1);
    assert.equal(
      mismatch.stderr,
      `netmap: the collector at ${collector.grpcAddress} presents a certificate with SHA-256 fingerprint ${server.fingerprint}, not NETMAP_FINGERPRINT's ${wrong}; nothing was sent to it\n`,
    );
    const untrusted = await netmap(["hosts"], { NETMAP_URL: `https://${collector.grpcAddress}` });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /presents a certificate this CLI does not trust .*; set NETMAP_CA or NETMAP_FINGERPRINT/);
    const plain = await netmap(["hosts"], { NETMAP_URL: collector.grpcAddress });
    assert.equal(plain.code, 1);
    const badPin = await netmap(["hosts"], { NETMAP_URL: collector.grpcAddress, NETMAP_FINGERPRINT: "abc" });
    assert.equal(badPin.code, 2);
    assert.match(badPin.stderr, /NETMAP_FINGERPRINT: expected a SHA-256 fingerprint/);
    // A refused handshake sent no token: nothing reached the collector to refuse.
    assert.ok(!collector.logs.some((l) => l.msg === "refused a call without a valid token"));
  });

  test("netmap serve serves a renewed certificate after SIGHUP, on HTTPS and gRPC, without a restart", async () => {
    const live = ca.issue("live");
    const renewed = ca.issue("renewed");
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const config = join(dir, "sighup.yaml");
    writeFileSync(config, tlsConfig(live));
    const first = live.fingerprint;
    const child = spawn(process.execPath, [NETMAP_MAIN, "serve", "--config", config], {
      env: { PATH: process.env.PATH!, HOME: dir, XDG_STATE_HOME: join(dir, "sighup-state"), NETMAP_NATS_URL: testbed.nats.url, NETMAP_DATABASE_URL: testbed.database.url,
        NETMAP_HTTP_ADDR: `127.0.0.1:${httpPort}`, NETMAP_GRPC_ADDR: `127.0.0.1:${grpcPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    try {
      await eventually(() => log.includes("status page and API listening"), () => `the collector to listen (log: ${log})`, 30_000);
      assert.equal(await presented(httpPort), first);
      assert.equal(await presented(grpcPort), first);
      copyFileSync(renewed.certFile, live.certFile);
      copyFileSync(renewed.keyFile, live.keyFile);
      child.kill("SIGHUP");
      await eventually(() => log.includes("reloaded the TLS certificates"), () => `the reload (log: ${log})`);
      assert.equal(await presented(httpPort), renewed.fingerprint);
      assert.equal(await presented(grpcPort), renewed.fingerprint);
      assert.equal(child.exitCode, null, "still running");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
    }
  });
});
