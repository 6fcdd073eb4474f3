// Every HTTP route and every gRPC method of the access table (collector/src/auth/access.ts),
// tried with no token and with a token of each role against a real collector: a role below
// the one declared is refused (403 / PERMISSION_DENIED), the one declared and above get
// through, and no route the app serves is missing from the table.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify from "fastify";
import pino from "pino";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { NetMapAdminClient, NetMapAdminService } from "../../proto/gen/netmap/v1/admin.ts";
import { GRPC_ACCESS, HTTP_ACCESS } from "../../collector/src/auth/access.ts";
import { createAuthenticator } from "../../collector/src/auth/authenticator.ts";
import { ROLES, roleAllows, type Role } from "../../collector/src/auth/roles.ts";
import { auditTrail } from "../../collector/src/audit/trail.ts";
import { connectAdmin } from "../../collector/src/cli/admin-client.ts";
import type { Db } from "../../collector/src/db/database.ts";
import { requireRoles } from "../../collector/src/http/auth.ts";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

// Route parameters filled with values that match the route's schema; what they name need not exist.
const SAMPLE_PARAMS: Record<string, string> = { id: "1", fingerprint: "0123456789abcdef", host: "nowhere" };
const concrete = (route: string) => route.replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? "x");

type Expectation = "allowed" | "unauthenticated" | "forbidden";
const expected = (needed: Role | "open", held: Role | undefined): Expectation =>
  needed === "open" ? "allowed" : held === undefined ? "unauthenticated" : roleAllows(held, needed) ? "allowed" : "forbidden";

describe("roles: every route and method of the access table with every role", () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let collector: TestCollector;
  const tokens = new Map<Role, string>();

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
    const admin = connectAdmin({ NETMAP_URL: collector.grpcAddress, NETMAP_TOKEN: collector.token, HOME: "/nonexistent" });
    try {
      for (const role of ROLES) tokens.set(role, (await admin.createToken({ name: `access-${role}`, role })).secret);
    } finally {
      admin.close();
    }
  });

  after(async () => {
    await collector?.stop();
    await database?.drop();
    await nats?.close();
  });

  for (const [key, access] of Object.entries(HTTP_ACCESS)) {
    const [method, route] = key.split(" ") as [string, string];
    test(`HTTP ${key} needs ${access.role}`, async () => {
      for (const held of [undefined, ...ROLES]) {
        const response = await fetch(new URL(concrete(route), collector.httpUrl), {
          method,
          headers: { ...(held && { authorization: `Bearer ${tokens.get(held)}` }), ...(method !== "GET" && { "content-type": "application/json" }) },
          ...(method !== "GET" && method !== "DELETE" && { body: "{}" }),
        });
        const text = await response.text();
        const want = expected(access.role, held);
        const what = `${key} with ${held ?? "no token"}: ${response.status} ${text.slice(0, 200)}`;
        if (want === "unauthenticated") assert.equal(response.status, 401, what);
        else if (want === "forbidden") {
          assert.equal(response.status, 403, what);
          assert.equal(JSON.parse(text).error.code, "FORBIDDEN", what);
        } else {
          assert.ok(![401, 403, 429].includes(response.status), what);
          assert.ok(!text.includes("no route for"), `the table names a route the app does not serve: ${what}`);
        }
      }
    });
  }

  for (const [name, access] of Object.entries(GRPC_ACCESS)) {
    const definition = NetMapAdminService[name as keyof typeof NetMapAdminService];
    test(`gRPC ${definition.path} needs ${access.role}`, async () => {
      const client = new NetMapAdminClient(collector.grpcAddress, credentials.createInsecure());
      try {
        for (const held of [undefined, ...ROLES]) {
          const metadata = new Metadata();
          if (held) metadata.set("authorization", `Bearer ${tokens.get(held)}`);
          // An empty message, every field at its default, as the server would decode it.
          const request = definition.requestDeserialize(Buffer.alloc(0));
          const code = await callCode(client, name, request, definition.responseStream, metadata);
          const want = expected(access.role, held);
          const what = `${definition.path} with ${held ?? "no token"}: code ${code}`;
          if (want === "unauthenticated") assert.equal(code, status.UNAUTHENTICATED, what);
          else if (want === "forbidden") assert.equal(code, status.PERMISSION_DENIED, what);
          else assert.ok(![status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.RESOURCE_EXHAUSTED, status.UNIMPLEMENTED].includes(code), what);
        }
      } finally {
        client.close();
      }
    });
  }

  test("a route registered without an entry in the table stops the app from starting", async () => {
    const app = Fastify();
    requireRoles(app, createAuthenticator({ token: "t", db: {} as Db, log: pino({ level: "silent" }) }), auditTrail({} as Db, undefined, pino({ level: "silent" })));
    assert.throws(() => app.get("/api/v1/undeclared", async () => ({})), /HTTP route GET \/api\/v1\/undeclared has no entry in HTTP_ACCESS/);
    await app.close();
  });
});

/** The status code a call ends with: OK for a unary answer, or a stream that runs without error for a moment. */
function callCode(client: NetMapAdminClient, name: string, request: unknown, streaming: boolean, metadata: Metadata): Promise<status> {
  const method = (client as unknown as Record<string, Function>)[name]!.bind(client);
  if (streaming) {
    return new Promise((resolve) => {
      const stream = method(request, metadata);
      const timer = setTimeout(() => (stream.cancel(), resolve(status.OK)), 500);
      stream.on("data", () => {});
      stream.on("error", (error: ServiceError) => (clearTimeout(timer), resolve(error.code === status.CANCELLED ? status.OK : error.code)));
    });
  }
  return new Promise((resolve) => method(request, metadata, (error: ServiceError | null) => resolve(error ? error.code : status.OK)));
}
