// The HTTP server takes the collector's one token: /api/v1/* and /metrics need it, the liveness
// probe and the status page's static files do not, and the token never reaches the log.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { openDatabase } from "../../collector/src/db/database.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

describe("HTTP bearer token", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  const bare = (path: string, headers: Record<string, string> = {}) => fetch(new URL(path, collector.httpUrl), { headers });

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
  });

  after(async () => {
    await collector?.stop();
    await database?.drop();
    await nats?.close();
  });

  for (const path of ["/api/v1/hosts", "/metrics"]) {
    test(`${path} answers 401 with a Bearer challenge without the token, or with a wrong one`, async () => {
      for (const headers of [{} as Record<string, string>, { authorization: "Bearer not-the-token" }, { authorization: `Basic ${btoa(`netmap:${collector.token}`)}` }, { authorization: collector.token }]) {
        const response = await bare(path, headers);
        assert.equal(response.status, 401, JSON.stringify(headers));
        assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="netmap"');
        const body = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, "UNAUTHENTICATED");
        assert.match(body.error.message, /token/);
      }
    });

    test(`${path} answers 200 with the token`, async () => {
      const response = await bare(path, { authorization: `Bearer ${collector.token}` });
      assert.equal(response.status, 200);
      // The scheme is case-insensitive (RFC 9110), as Prometheus and curl may write it either way.
      assert.equal((await bare(path, { authorization: `bearer ${collector.token}` })).status, 200);
    });
  }

  test("/healthz and the status page's static files stay open", async () => {
    for (const path of ["/healthz", "/", "/app.js", "/app.css", "/style.css"]) {
      const response = await bare(path);
      assert.equal(response.status, 200, path);
      await response.arrayBuffer();
    }
  });

  test("/healthz says only \"unavailable\" of a database that fails, and logs why", async () => {
    const missing = `netmap_missing_${process.pid}`;
    const url = new URL(database.url);
    url.pathname = `/${missing}`;
    const db = openDatabase(url.toString(), { max: 1 });
    const lines: string[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    const app = await buildApp({ config: loadCollectorConfig({ env: {}, configFlag: undefined }), db, registry: new Registry(), natsConnected: () => true, token: "t" }, log);
    try {
      const response = await app.inject({ method: "GET", url: "/healthz" });
      assert.equal(response.statusCode, 503);
      assert.deepEqual(response.json(), { status: "unhealthy", checks: { database: "unavailable", nats: "ok" } });
      assert.ok(!response.body.includes(missing), "the database's name stays out of the open probe");
      assert.ok(lines.some((line) => line.includes(`database \\"${missing}\\" does not exist`)), lines.join(""));
    } finally {
      await app.close();
      await db.destroy();
    }
  });

  test("every other route needs the token too, and so does a path no route serves", async () => {
    for (const path of ["/api/v1/alerts", "/api/v1/hosts/1", "/api/v1/topology", "/api/v1/nope", "/nope", "/%61pi/v1/hosts", "/api/v1/hosts/../hosts"]) {
      const response = await bare(path);
      assert.equal(response.status, 401, path);
      await response.arrayBuffer();
    }
    // With the token, the JSON errors are the usual ones.
    assert.equal((await collector.get("/api/v1/hosts/999999")).status, 404);
    assert.equal((await collector.get("/nope")).body.error.code, "NOT_FOUND");
    const post = await fetch(new URL("/api/v1/silences", collector.httpUrl), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(post.status, 401, "a write is refused before its body is looked at");
  });

  test("a refused request is logged without the token, and an accepted one's token is not logged either", async () => {
    await bare("/api/v1/hosts", { authorization: `Bearer wrong-${collector.token}` });
    await bare("/api/v1/hosts", { authorization: `Bearer ${collector.token}` });
    const refused = collector.logs.filter((line) => line.msg === "refused a call without a valid token" && line.transport === "http");
    assert.ok(refused.some((line) => line.what === "GET /api/v1/hosts" && line.sentToken === true), "the refusal is logged with its path");
    const everything = JSON.stringify(collector.logs);
    assert.ok(!everything.includes(collector.token), "no log line holds the token");
  });
});
