// Fuzzing the HTTP API through buildApp().inject against a real database: JSON bodies, path
// parameters and query strings of every route that takes them, arbitrary and shaped. A
// request is answered, or refused with a 4xx carrying { error: { code, message } }; never a
// 500, never a hang. FUZZ_RUNS requests per property (`npm run fuzz`: 100,000). Guest actions
// reach the PVE stand-in (test/fakes/proxmox) for one guest stored as discovery stores it, so
// valid requests go all the way; container actions are fuzzed at their boundary (no container
// is stored, so none runs ssh).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { Registry } from "prom-client";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import { migrateToLatest, openDatabase, type Db } from "../../collector/src/db/database.ts";
import { GUEST_ACTIONS } from "../../collector/src/http/api-types.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { guestControl, type GuestControl } from "../../collector/src/proxmox/guest-actions.ts";
import { loadTopology } from "../../collector/src/topology/repository.ts";
import { startFakeProxmox, type FakeProxmox } from "../fakes/proxmox/server.ts";
import { clusterGuests, clusterNodes } from "../fixtures/proxmox/cluster.ts";
import { fuzzParameters, unhandledRejections } from "../helpers/fuzz.ts";
import { fakeProxmoxConfig } from "../helpers/proxmox.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const TOKEN = "fuzz-token";
const ROUTE_CONCURRENCY = 4;
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
/** A query string of these keys (and others), each value shaped or arbitrary. */
const queryOf = (keys: string[], values: fc.Arbitrary<string>) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 })), fc.oneof(values, text), { maxKeys: 4 }).map((q) => new URLSearchParams(q).toString());
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1, 86400, 86401, 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2));
const snapshotName = fc.oneof(fc.constantFrom("pre-upgrade", "a", "ab", "1abc", "a b", "a/b", "x".repeat(40), "x".repeat(41), "../x"), text);
const guestBody = fc.record(
  {
    snapshot: fc.oneof(snapshotName, json),
    description: fc.oneof(text, fc.constant("d".repeat(1001)), json),
    timeoutSeconds: fc.oneof(number, json),
    forceStop: fc.oneof(fc.boolean(), json),
    garbage: json,
  },
  { requiredKeys: [] },
);
const guestPayload = fc.oneof(guestBody.map((value) => ({ body: JSON.stringify(value), type: "application/json" })), payload);
const guestAction = fc.oneof(fc.constantFrom(...GUEST_ACTIONS, "STOP", "migrate", "start ", "x".repeat(33)), pathToken);

describe("fuzz: HTTP bodies, path parameters and query strings", () => {
  const unhandled = unhandledRejections();
  let database: TestDatabase;
  let db: Db;
  let app: FastifyInstance;
  let pve: FakeProxmox;
  let guests: GuestControl;
  let dir: string;
  /** The host id of web01, a guest of the PVE stand-in, as discovery would have stored it. */
  let guestId: string;

  before(async () => {
    [database, pve] = await Promise.all([createTestDatabase({ durable: false }), startFakeProxmox({ nodes: clusterNodes(), guests: clusterGuests() })]);
    db = openDatabase(database.url);
    await migrateToLatest(db);
    dir = mkdtempSync(join(tmpdir(), "netmap-http-fuzz-"));
    writeFileSync(join(dir, "netmap.yaml"), fakeProxmoxConfig(pve, dir));
    const config = loadCollectorConfig({ configFlag: join(dir, "netmap.yaml"), env: { NETMAP_DATABASE_URL: database.url } });
    const host = await db.insertInto("hosts").values({ hostname: "web01" }).returning("id").executeTakeFirstOrThrow();
    guestId = String(host.id);
    await db.insertInto("proxmox_resources").values({ host_id: host.id, cluster: "lab", type: "qemu", node: "pve1", vmid: 100, name: "web01", status: "running" }).execute();
    guests = guestControl(db, config.proxmox);
    app = await buildApp(
      { config, db, registry: new Registry(), natsConnected: () => true, token: TOKEN, guests, loadTopology: () => loadTopology(db, { includeUnassigned: true }) },
      pino({ level: "silent" }),
    );
  });

  after(async () => {
    await app?.close();
    guests?.close();
    await db?.destroy();
    await database?.drop();
    await pve?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The one rule of every answer: below 500, and a refusal names its code. Returns what the
   * answer was (its status, or its error code), for the route's tally.
   */
  async function assertAnswered(method: "GET" | "POST" | "DELETE", url: string, body?: { body: string; type: string }): Promise<string> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": body.type } : {}) }, ...(body ? { payload: body.body } : {}) });
    assert.ok(response.statusCode < 500, `${method} ${url} ${body?.body ?? ""} answered ${response.statusCode}: ${response.body}`);
    if (response.statusCode < 400) return String(response.statusCode);
    const { error } = response.json() as { error: { code: string; message: string } };
    assert.match(error.code, /^[A-Z][A-Z0-9_]*$/, response.body);
    assert.ok(error.message.length > 0, response.body);
    return error.code;
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

  test("the new routes' shaped requests reach their handlers: a guest action to PVE and its task, snapshots, the map", async () => {
    const call = (method: "GET" | "POST", url: string, payload?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload && { payload }) });
    const action = await call("POST", `/api/v1/hosts/${guestId}/actions/snapshot`, { snapshot: "pre-fuzz", description: "before the fuzz" });
    assert.equal(action.statusCode, 202, action.body);
    const task = await call("GET", `/api/v1/tasks/${action.json().task.id}`);
    assert.equal(task.statusCode, 200, task.body);
    const snapshots = await call("GET", `/api/v1/hosts/${guestId}/snapshots`);
    assert.equal(snapshots.statusCode, 200, snapshots.body);
    const refused = await call("POST", `/api/v1/hosts/${guestId}/actions/shutdown`, { timeoutSeconds: 86401 });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().error.code, "BAD_REQUEST");
    const map = await call("GET", "/api/v1/topology.svg?theme=dark&containers=collapsed&expand=all");
    assert.equal(map.statusCode, 200, map.body);
    assert.match(map.headers["content-type"] as string, /^image\/svg\+xml/);
  });

  const routes: Array<[string, fc.Arbitrary<[method: "GET" | "POST" | "DELETE", url: string, body?: { body: string; type: string }]>]> = [
    ["POST /api/v1/silences", payload.map((b) => ["POST", "/api/v1/silences", b])],
    ["POST /api/v1/alerts/:fingerprint/ack", fc.tuple(pathToken, payload).map(([f, b]) => ["POST", `/api/v1/alerts/${f}/ack`, b])],
    ["POST /api/v1/hosts/:id/adopt", fc.tuple(pathToken, payload).map(([id, b]) => ["POST", `/api/v1/hosts/${id}/adopt`, b])],
    ["DELETE /api/v1/silences/:id", pathToken.map((id) => ["DELETE", `/api/v1/silences/${id}`])],
    ["GET /api/v1/hosts/:id/series", fc.tuple(pathToken, query).map(([id, q]) => ["GET", `/api/v1/hosts/${id}/series?${q}`])],
    ["GET /api/v1/alerts/deliveries", query.map((q) => ["GET", `/api/v1/alerts/deliveries?${q}`])],
    ["GET /api/v1/routes/:host and /api/v1/hosts/:id", fc.tuple(pathToken, fc.boolean()).map(([h, r]) => ["GET", r ? `/api/v1/routes/${h}` : `/api/v1/hosts/${h}`])],
    // The routes added since: guest actions (reaching the PVE stand-in), tasks, snapshots, backups,
    // alert history, sparklines, container actions, terminal tickets, sessions, the drawn map.
    ["POST /api/v1/hosts/:id/actions/:action", fc.tuple(fc.oneof(fc.constant(0).map(() => guestId), pathToken), guestAction, guestPayload).map(([id, a, b]) => ["POST", `/api/v1/hosts/${id}/actions/${a}`, b])],
    ["GET /api/v1/tasks/:id", fc.oneof(fc.integer({ min: 1, max: 5 }).map(String), pathToken).map((id) => ["GET", `/api/v1/tasks/${id}`])],
    ["GET /api/v1/hosts/:id/snapshots", fc.oneof(fc.constant(0).map(() => guestId), pathToken).map((id) => ["GET", `/api/v1/hosts/${id}/snapshots`])],
    ["GET /api/v1/backups", query.map((q) => ["GET", `/api/v1/backups?${q}`])],
    ["GET /api/v1/alerts/:fingerprint/history", fc.tuple(pathToken, queryOf(["limit"], fc.oneof(number.map(String), time))).map(([f, q]) => ["GET", `/api/v1/alerts/${f}/history?${q}`])],
    ["GET /api/v1/hosts/sparklines", query.map((q) => ["GET", `/api/v1/hosts/sparklines?${q}`])],
    ["POST /api/v1/hosts/:id/container/:action", fc.tuple(pathToken, fc.oneof(fc.constantFrom("start", "stop", "restart", "logs", "kill"), pathToken), payload).map(([id, a, b]) => ["POST", `/api/v1/hosts/${id}/container/${a}`, b])],
    ["POST /api/v1/terminal/:host/ticket", fc.tuple(fc.oneof(pathToken, fc.constantFrom("web01", "acme/paris-dc1/web01", encodeURIComponent("x".repeat(401)))), fc.option(payload, { nil: undefined })).map(([h, b]) => ["POST", `/api/v1/terminal/${h}/ticket`, b])],
    ["GET /api/v1/sessions/:id", pathToken.map((id) => ["GET", `/api/v1/sessions/${id}`])],
    [
      "GET /api/v1/topology.svg",
      queryOf(["theme", "expand", "containers"], fc.oneof(fc.constantFrom("light", "dark", "all", "shown", "collapsed", "acme", "acme/paris-dc1", "acme,", ",", "ACME", "a".repeat(20_001)), fc.string({ maxLength: 20 })))
        .map((q) => ["GET", `/api/v1/topology.svg?${q}`]),
    ],
  ];
  // The routes' properties run ROUTE_CONCURRENCY at a time, as a server takes requests side by
  // side: while one request waits on PostgreSQL or the PVE stand-in, another is parsed.
  describe("every route", { concurrency: ROUTE_CONCURRENCY }, () => {
    for (const [name, request] of routes) {
      test(`${name} answers every generated request below 500, each refusal with a code`, async (t) => {
        const answers = new Map<string, number>();
        const started = performance.now();
        await fc.assert(fc.asyncProperty(request, async ([method, url, body]) => {
          const answer = await assertAnswered(method, url, body);
          answers.set(answer, (answers.get(answer) ?? 0) + 1);
        }), fuzzParameters());
        t.diagnostic(`figures ${JSON.stringify({ route: name, inputs: [...answers.values()].reduce((a, b) => a + b, 0), seconds: Math.round((performance.now() - started) / 1000), answers: Object.fromEntries(answers) })}`);
      });
    }
  });

  test("no rejection went unhandled while the routes were fuzzed", () => {
    assert.deepEqual(unhandled(), []);
  });
});
