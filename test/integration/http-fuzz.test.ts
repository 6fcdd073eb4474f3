// Fuzzing the HTTP API through buildApp().inject against a real database: JSON bodies, path
// parameters and query strings of every route that takes them, arbitrary and shaped. A
// request is answered, or refused with a 4xx carrying { error: { code, message } }; never a
// 500, never a hang. FUZZ_RUNS requests per property (`npm run fuzz`: 100,000).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { loadTopology } from "../../collector/src/topology/repository.ts";
import { fuzzParameters } from "../helpers/fuzz.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const TOKEN = "fuzz-token";
const json = fc.jsonValue({ maxDepth: 3 });
const time = fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? "not a time" : d.toISOString())), fc.constantFrom("2026-13-01", "yesterday", "1e999", "+275760-09-13T00:00:00.001Z"), fc.string({ maxLength: 12 }));
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("\u0000", "é", "😀", "%00", "../..", "' OR 1=1 --"));
const matcher = fc.record({ name: fc.oneof(fc.constantFrom("alertname", "host", "severity"), text), value: text, isRegex: fc.oneof(fc.boolean(), json), isEqual: fc.oneof(fc.boolean(), json) }, { requiredKeys: [] });
const silence = fc.record(
  {
    matchers: fc.oneof(fc.array(matcher, { maxLength: 3 }), json),
    startsAt: fc.oneof(time, json),
    endsAt: fc.oneof(time, json),
    durationSeconds: fc.oneof(fc.double(), fc.constantFrom(1e308, 1e15, 1, -1, 0), json),
    createdBy: fc.oneof(text, json),
    comment: fc.oneof(text, json),
  },
  { requiredKeys: [] },
);
const pathToken = fc.oneof(fc.constantFrom("1", "0", "-1", "99999999999999999999", "1.5", "abc", "%zz", "%2F"), fc.string({ maxLength: 12 }).map(encodeURIComponent));
const query = fc.dictionary(fc.oneof(fc.constantFrom("metric", "from", "to", "step", "limit", "receiver", "fingerprint"), fc.string({ maxLength: 6 })), fc.oneof(text, time), { maxKeys: 4 })
  .map((q) => new URLSearchParams(q).toString());
const payload = fc.oneof(
  json.map((value) => ({ body: JSON.stringify(value), type: "application/json" })),
  silence.map((value) => ({ body: JSON.stringify(value), type: "application/json" })),
  fc.string({ maxLength: 40 }).map((body) => ({ body, type: "application/json" })),
  fc.string({ maxLength: 40 }).map((body) => ({ body, type: "text/plain" })),
);

describe("fuzz: HTTP bodies, path parameters and query strings", () => {
  let database: TestDatabase;
  let db: Db;
  let app: FastifyInstance;

  before(async () => {
    database = await createTestDatabase();
    db = openDatabase(database.url);
    await migrateToLatest(db);
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    app = await buildApp({ config, db, registry: new Registry(), natsConnected: () => true, token: TOKEN, loadTopology: () => loadTopology(db, { includeUnassigned: true }) }, pino({ level: "silent" }));
  });

  after(async () => {
    await app?.close();
    await db?.destroy();
    await database?.drop();
  });

  /** The one rule of every answer: below 500, and a refusal names its code. */
  async function assertAnswered(method: "GET" | "POST" | "DELETE", url: string, body?: { body: string; type: string }): Promise<void> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": body.type } : {}) }, ...(body ? { payload: body.body } : {}) });
    assert.ok(response.statusCode < 500, `${method} ${url} ${body?.body ?? ""} answered ${response.statusCode}: ${response.body}`);
    if (response.statusCode >= 400) {
      const { error } = response.json() as { error: { code: string; message: string } };
      assert.match(error.code, /^[A-Z][A-Z0-9_]*$/, response.body);
      assert.ok(error.message.length > 0, response.body);
    }
  }

  test("requests the fuzzer once crashed are refused with 400 BAD_REQUEST in the error shape", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["GET", "/api/v1/hosts/%zz/series", /not a valid url component/],
      ["GET", "/api/v1/alerts/deliveries?fingerprint=%00", /query\.fingerprint: a NUL character/],
      ["GET", "/api/v1/alerts/deliveries?limit=1e999", /limit: expected a whole number/],
      ["GET", "/api/v1/hosts/99999999999999999999", /must be <= 9007199254740991/],
      ["POST", "/api/v1/silences", /body\.comment: a NUL character/],
    ];
    for (const [method, url, message] of cases) {
      const response = await app.inject({ method: method as "GET", url, headers: { authorization: `Bearer ${TOKEN}` }, ...(method === "POST" ? { payload: { comment: "a\u0000b" } } : {}) });
      assert.equal(response.statusCode, 400, `${method} ${url}: ${response.body}`);
      const { error } = response.json() as { error: { code: string; message: string } };
      assert.equal(error.code, "BAD_REQUEST");
      assert.match(error.message, message);
    }
  });

  const routes: Array<[string, fc.Arbitrary<[method: "GET" | "POST" | "DELETE", url: string, body?: { body: string; type: string }]>]> = [
    ["POST /api/v1/silences", payload.map((b) => ["POST", "/api/v1/silences", b])],
    ["POST /api/v1/alerts/:fingerprint/ack", fc.tuple(pathToken, payload).map(([f, b]) => ["POST", `/api/v1/alerts/${f}/ack`, b])],
    ["POST /api/v1/hosts/:id/adopt", fc.tuple(pathToken, payload).map(([id, b]) => ["POST", `/api/v1/hosts/${id}/adopt`, b])],
    ["DELETE /api/v1/silences/:id", pathToken.map((id) => ["DELETE", `/api/v1/silences/${id}`])],
    ["GET /api/v1/hosts/:id/series", fc.tuple(pathToken, query).map(([id, q]) => ["GET", `/api/v1/hosts/${id}/series?${q}`])],
    ["GET /api/v1/alerts/deliveries", query.map((q) => ["GET", `/api/v1/alerts/deliveries?${q}`])],
    ["GET /api/v1/routes/:host and /api/v1/hosts/:id", fc.tuple(pathToken, fc.boolean()).map(([h, r]) => ["GET", r ? `/api/v1/routes/${h}` : `/api/v1/hosts/${h}`])],
  ];
  for (const [name, request] of routes) {
    test(`${name} answers every generated request below 500, each refusal with a code`, async () => {
      await fc.assert(fc.asyncProperty(request, ([method, url, body]) => assertAnswered(method, url, body)), fuzzParameters());
    });
  }
});
