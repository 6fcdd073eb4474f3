// Named tokens and the audit trail against a real collector (NATS, PostgreSQL) and the real
// `netmap` CLI: a token is shown once and stored as a hash, revoking it takes effect at once,
// and every operator or admin action is stored, listed and published, and cannot be edited.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { decodeAuditEvent } from "../../proto/src/codec.ts";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { eventually } from "../helpers/wait.ts";

describe("named tokens and the audit trail", () => {
  let testbed: CliTestbed;
  let nc: NatsConnection;
  const published: Array<{ subject: string; event: ReturnType<typeof decodeAuditEvent> }> = [];
  const asToken = (token: string, path: string, init: RequestInit = {}) =>
    fetch(new URL(path, testbed.collector.httpUrl), { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers as Record<string, string>) } });
  const sql = async (query: string) => {
    const client = new pg.Client({ connectionString: testbed.database.url });
    await client.connect();
    try {
      return await client.query(query);
    } finally {
      await client.end();
    }
  };

  before(async () => {
    testbed = await startCliTestbed();
    nc = await connect({ servers: testbed.nats.url });
    const subscription = nc.subscribe("netmap.v1.audit.>");
    void (async () => {
      for await (const message of subscription) published.push({ subject: message.subject, event: decodeAuditEvent(message.data) });
    })();
    await nc.flush();
  });

  after(async () => {
    await nc?.close();
    await testbed?.close();
  });

  test("token create prints the token once, list never shows it, the database holds only its hash, and revoke stops it at once", async () => {
    const created = await testbed.netmap(["token", "create", "grafana", "--role", "viewer"]);
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^nmt_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /shown this once/);

    assert.equal((await asToken(secret, "/api/v1/hosts")).status, 200, "the new token reads");
    const refused = await asToken(secret, "/api/v1/silences", { method: "POST", body: "{}" });
    assert.equal(refused.status, 403, "a viewer does not silence");
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /needs the operator role; the token grafana has viewer/);

    const list = await testbed.netmap(["token", "list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+ROLE\s+CREATED BY\s+CREATED\s+LAST USED\ngrafana\s+viewer\s+@configured\s+\S+\s+\d{4}-/);
    assert.ok(!list.stdout.includes(secret));
    const rows = await sql("SELECT * FROM api_tokens");
    assert.equal(rows.rowCount, 1);
    assert.ok(!JSON.stringify(rows.rows).includes(secret.slice(4)), "no column holds the token");
    assert.equal((rows.rows[0].token_sha256 as Buffer).length, 32);

    const twice = await testbed.netmap(["token", "create", "grafana", "--role", "admin"]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /a token named "grafana" exists/);
    const badRole = await testbed.netmap(["token", "create", "x", "--role", "root"]);
    assert.match(badRole.stderr, /expected viewer, operator or admin, got "root"/);

    const revoked = await testbed.netmap(["token", "revoke", "grafana"]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, "revoked token grafana (viewer)\n");
    assert.equal((await asToken(secret, "/api/v1/hosts")).status, 401, "a revoked token is refused at once");
    const again = await testbed.netmap(["token", "revoke", "grafana"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no token named "grafana"/);
  });

  test("an operator's ack and silence are stored with who, when, from where and outcome, and published on netmap.v1.audit.<action>", async () => {
    const created = await testbed.netmap(["token", "create", "oncall", "--role", "operator"]);
    const operator = created.stdout.trim();
    const before = Date.now();
    const silence = await asToken(operator, "/api/v1/silences", { method: "POST", body: JSON.stringify({ matchers: [{ name: "host", value: "web1", isRegex: false }], durationSeconds: 600, comment: "deploy" }) });
    assert.equal(silence.status, 201);
    const ack = await asToken(operator, "/api/v1/alerts/0123456789abcdef/ack", { method: "POST", body: "{}" });
    assert.equal(ack.status, 404);
    const file = join(testbed.dir, "hosts.yaml");
    writeFileSync(file, "clients: []\n");
    const imported = await testbed.netmap(["import", file], { NETMAP_TOKEN: operator });
    assert.equal(imported.code, 1, "an operator does not import");
    assert.match(imported.stderr, /needs the admin role; the token oncall has operator/);

    const audit = (await (await testbed.collector.fetch("/api/v1/audit")).json()) as { events: Array<Record<string, string>> };
    const mine = audit.events.filter((e) => e.actor === "oncall");
    assert.deepEqual(
      mine.map(({ action, target, source, outcome, role, transport }) => ({ action, target, source, outcome, role, transport })),
      [
        { action: "silence_add", target: '[{"name":"host","value":"web1","isRegex":false}]', source: "127.0.0.1", outcome: "ok", role: "operator", transport: "http" },
        { action: "alert_ack", target: "0123456789abcdef", source: "127.0.0.1", outcome: "NOT_FOUND", role: "operator", transport: "http" },
        { action: "topology_import", target: "", source: "127.0.0.1", outcome: "FORBIDDEN", role: "operator", transport: "grpc" },
      ],
    );
    for (const e of mine) assert.ok(Date.parse(e.at!) >= before - 1000 && Date.parse(e.at!) <= Date.now(), e.at);

    await eventually(() => published.filter((p) => p.event.actor === "oncall").length === 3, "three audit events on NATS");
    const events = published.filter((p) => p.event.actor === "oncall");
    assert.deepEqual(events.map((p) => p.subject), ["netmap.v1.audit.silence_add", "netmap.v1.audit.alert_ack", "netmap.v1.audit.topology_import"]);
    assert.equal(events[0]!.event.id, Number(mine[0]!.id));
  });

  test("netmap audit lists token management since a time; nothing edits the trail, not even the database", async () => {
    const since = new Date().toISOString();
    await testbed.netmap(["token", "create", "ci", "--role", "admin"]);
    await testbed.netmap(["token", "revoke", "ci"]);
    const audit = await testbed.netmap(["audit", "--since", since]);
    assert.equal(audit.code, 0, audit.stderr);
    const lines = audit.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^TIME\s+ACTOR\s+ROLE\s+ACTION\s+TARGET\s+FROM\s+VIA\s+OUTCOME$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(1)), [
      ["@configured", "admin", "token_create", "ci", "127.0.0.1", "grpc", "ok"],
      ["@configured", "admin", "token_revoke", "ci", "127.0.0.1", "grpc", "ok"],
    ]);
    assert.equal((await testbed.netmap(["audit", "--since", "2h"])).code, 0);
    const bad = await testbed.netmap(["audit", "--since", "yesterday"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since: expected a duration/);

    for (const method of ["DELETE", "PUT", "PATCH", "POST"]) {
      const response = await testbed.collector.fetch("/api/v1/audit", { method });
      assert.equal(response.status, 404, `${method} /api/v1/audit`);
      await response.arrayBuffer();
    }
    await assert.rejects(sql("UPDATE audit_log SET actor = 'someone-else'"), /audit_log is append-only/);
    await assert.rejects(sql("DELETE FROM audit_log"), /audit_log is append-only/);
    await assert.rejects(sql("TRUNCATE audit_log"), /audit_log is append-only/);
  });
});
