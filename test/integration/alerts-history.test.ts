// The transitions of an alert: logged by saveAlerts whenever a stored alert changes state, and
// served by GET /api/v1/alerts/:fingerprint/history (real PostgreSQL).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import type { Alert } from "../../collector/src/alerts/engine.ts";
import { alertTransitions, saveAlerts } from "../../collector/src/alerts/repository.ts";
import { loadCollectorConfig } from "../../collector/src/config.ts";
import type { Db } from "../../collector/src/db/database.ts";
import type { AlertHistoryResponse } from "../../collector/src/http/api-types.ts";
import { buildApp } from "../../collector/src/http/app.ts";
import { createMigratedDatabase, type MigratedDatabase } from "../helpers/postgres.ts";

const T = (s: number) => new Date(Date.parse("2026-12-01T10:00:00Z") + s * 1000);

describe("alert history", () => {
  let database: MigratedDatabase;
  let db: Db;
  const alert: Alert = {
    fingerprint: "fp-disk", rule: "FilesystemAlmostFull", severity: "warning", labels: { host: "web01", mountpoint: "/" }, annotations: {},
    state: "pending", value: 91, activeSince: T(0), startsAt: null, endsAt: null,
  };

  before(async () => {
    database = await createMigratedDatabase();
    ({ db } = database);
  });

  after(() => database?.drop());

  test("every change of state is logged once, dated when the state began; saving the same state again logs nothing", async () => {
    await saveAlerts(db, [alert]);
    await saveAlerts(db, [{ ...alert, value: 92 }]);
    await saveAlerts(db, [{ ...alert, state: "firing", value: 93, startsAt: T(60) }]);
    await saveAlerts(db, [{ ...alert, state: "firing", value: 95, startsAt: T(60) }]);
    await saveAlerts(db, [{ ...alert, state: "resolved", value: 40, startsAt: T(60), endsAt: T(300) }]);
    await saveAlerts(db, [{ ...alert, state: "pending", value: 90, activeSince: T(900) }]);
    assert.deepEqual(await alertTransitions(db, "fp-disk", 100), [
      { at: T(900), from: "resolved", to: "pending", value: 90 },
      { at: T(300), from: "firing", to: "resolved", value: 40 },
      { at: T(60), from: "pending", to: "firing", value: 93 },
      { at: T(0), from: null, to: "pending", value: 91 },
    ]);
    assert.equal((await alertTransitions(db, "fp-disk", 2)).length, 2);
  });

  test("served newest first to a viewer; an alert that never changed state is 404; a bad limit is 400", async () => {
    const config = loadCollectorConfig({ env: { NETMAP_DATABASE_URL: database.url } });
    const app = await buildApp({ config, db, registry: new Registry(), natsConnected: () => true, token: "history-token" }, pino({ level: "silent" }));
    const get = (url: string) => app.inject({ url, headers: { authorization: "Bearer history-token" } });
    try {
      const response = await get("/api/v1/alerts/fp-disk/history?limit=3");
      assert.equal(response.statusCode, 200);
      const body = response.json() as AlertHistoryResponse;
      assert.equal(body.fingerprint, "fp-disk");
      assert.deepEqual(body.transitions.map((t) => [t.at, t.from, t.to]), [
        [T(900).toISOString(), "resolved", "pending"],
        [T(300).toISOString(), "firing", "resolved"],
        [T(60).toISOString(), "pending", "firing"],
      ]);
      const missing = await get("/api/v1/alerts/nope/history");
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, "NOT_FOUND");
      assert.equal((await get("/api/v1/alerts/fp-disk/history?limit=0")).statusCode, 400);
      assert.equal((await app.inject({ url: "/api/v1/alerts/fp-disk/history" })).statusCode, 401);
    } finally {
      await app.close();
    }
  });
});
