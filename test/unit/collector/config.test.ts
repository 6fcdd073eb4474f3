import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadCollectorConfig } from "../../../collector/src/config.ts";
import { parseDurationSeconds } from "../../../lib/settings.ts";
import { ConfigError } from "../../../collector/src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "netmap-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function configFile(text: string): string {
  const path = join(dir, `netmap-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe("collector config", () => {
  test("defaults match the design contract", () => {
    const config = loadCollectorConfig({ env: {}, configFlag: configFile("") });
    assert.deepEqual(config.natsServers, ["nats://127.0.0.1:4222"]);
    assert.equal(config.databaseUrl, "postgres://127.0.0.1:5432/netmap");
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 7070, tls: null, insecure: false });
    assert.deepEqual(config.grpc, { host: "127.0.0.1", port: 7071, tls: null, insecure: false });
    assert.equal(config.token, null);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.http));
  });

  test("the token comes from NETMAP_TOKEN or token_file, and a non-loopback gRPC or HTTP address needs one", () => {
    const tokenFile = join(dir, "netmap.token");
    writeFileSync(tokenFile, "from-file\n", { mode: 0o600 });
    assert.equal(loadCollectorConfig({ env: {}, configFlag: configFile(`token_file: ${tokenFile}\n`) }).token, "from-file");
    assert.equal(loadCollectorConfig({ env: { NETMAP_TOKEN: "from-env" }, configFlag: configFile(`token_file: ${tokenFile}\n`) }).token, "from-env");
    assert.throws(() => loadCollectorConfig({ env: { NETMAP_GRPC_ADDR: "0.0.0.0:7071" }, configFlag: configFile("") }), {
      code: "CONFIG_INVALID",
      message: /grpc\.addr: 0\.0\.0\.0 is not a loopback address; the admin service needs a token/,
    });
    assert.equal(loadCollectorConfig({ env: { NETMAP_GRPC_ADDR: "0.0.0.0:7071", NETMAP_TOKEN: "t" }, configFlag: configFile("grpc: { insecure: true }\n") }).grpc.host, "0.0.0.0");
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`token_file: ${join(dir, "missing")}\n`) }), { message: /token_file: cannot read .*ENOENT/ });
    writeFileSync(join(dir, "empty.token"), "\n", { mode: 0o600 });
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`token_file: ${join(dir, "empty.token")}\n`) }), { message: /^token_file: .*empty\.token is empty$/ });
  });

  test("a non-loopback HTTP address without a configured token is refused, naming http.addr", () => {
    for (const addr of ["0.0.0.0:7070", "[::]:7070", "192.0.2.7:7070"]) {
      assert.throws(() => loadCollectorConfig({ env: { NETMAP_HTTP_ADDR: addr }, configFlag: configFile("") }), {
        code: "CONFIG_INVALID",
        message: /^http\.addr: .* is not a loopback address; the HTTP API needs a token there \(token_file or NETMAP_TOKEN\)$/,
      });
    }
    for (const addr of ["127.0.0.1:7070", "[::1]:7070", "localhost:7070"]) {
      assert.equal(loadCollectorConfig({ env: { NETMAP_HTTP_ADDR: addr }, configFlag: configFile("") }).token, null);
    }
    const tokenFile = join(dir, "http.token");
    writeFileSync(tokenFile, "t0ken\n", { mode: 0o600 });
    assert.equal(loadCollectorConfig({ env: { NETMAP_HTTP_ADDR: "0.0.0.0:7070" }, configFlag: configFile(`token_file: ${tokenFile}\nhttp: { insecure: true }\n`) }).token, "t0ken");
  });

  test("a non-loopback address without TLS is refused, saying how to give TLS or mark it insecure", () => {
    for (const [section, variable] of [["http", "NETMAP_HTTP_ADDR"], ["grpc", "NETMAP_GRPC_ADDR"]] as const) {
      assert.throws(() => loadCollectorConfig({ env: { [variable]: "192.0.2.7:7000", NETMAP_TOKEN: "t" }, configFlag: configFile("") }), {
        code: "CONFIG_INVALID",
        message: `${section}.addr: 192.0.2.7 is not a loopback address and ${section}.tls is not set; give ${section}.tls { cert_file, key_file }, or set ${section}.insecure: true if a TLS proxy or a private link protects it`,
      });
      const tls = loadCollectorConfig({ env: { [variable]: "192.0.2.7:7000", NETMAP_TOKEN: "t" }, configFlag: configFile(`${section}: { tls: { cert_file: /c.pem, key_file: /k.pem } }\n`) });
      assert.deepEqual(tls[section].tls, { certFile: "/c.pem", keyFile: "/k.pem" });
      assert.equal(loadCollectorConfig({ env: { [variable]: "192.0.2.7:7000", NETMAP_TOKEN: "t" }, configFlag: configFile(`${section}: { insecure: true }\n`) })[section].insecure, true);
    }
    assert.match(loadCollectorConfig({ env: {}, configFlag: configFile("http: { tls: { cert_file: /c.pem, key_file: /k.pem } }\n") }).externalUrl, /^https:\/\/127\.0\.0\.1:7070\/$/);
  });

  test("a secret file group or others may read is refused, as OpenSSH refuses a key, unless allow_readable_secrets says so", () => {
    const tokenFile = join(dir, "open.token");
    writeFileSync(tokenFile, "t0ken\n", { mode: 0o640 });
    chmodSync(tokenFile, 0o640);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`token_file: ${tokenFile}\n`) }), {
      code: "CONFIG_INVALID",
      message: `token_file: ${tokenFile} may be read by group or others (mode 0640); chmod 600 it, or set allow_readable_secrets: true where something else guards it`,
    });
    const secret = join(dir, "hook.secret");
    writeFileSync(secret, "s3cret\n", { mode: 0o604 });
    chmodSync(secret, 0o604);
    assert.throws(
      () => loadCollectorConfig({ env: { NETMAP_TOKEN: "t" }, configFlag: configFile(`notifiers: [{ name: ops, type: webhook, url: "http://127.0.0.1:1/", secret_file: ${secret} }]\n`) }),
      { message: /^notifiers\[0\]\.secret_file: .* may be read by group or others \(mode 0604\)/ },
    );
    assert.equal(loadCollectorConfig({ env: {}, configFlag: configFile(`token_file: ${tokenFile}\nallow_readable_secrets: true\n`) }).token, "t0ken");
  });

  test("grpc.token_file, from before the token covered HTTP, is refused with where it went", () => {
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile("grpc: { token_file: /etc/netmap/token }\n") }), {
      code: "CONFIG_INVALID",
      message: /^grpc\.token_file: the token now covers the HTTP API as well; write it as token_file at the top level of /,
    });
  });

  test("environment overrides the file and flags override both", () => {
    const file = configFile("nats: { url: nats://file:4222 }\nhttp: { addr: '0.0.0.0:8080', insecure: true }\n");
    const fromFile = loadCollectorConfig({ env: { NETMAP_TOKEN: "t" }, configFlag: file });
    assert.deepEqual(fromFile.natsServers, ["nats://file:4222"]);
    assert.deepEqual(fromFile.http, { host: "0.0.0.0", port: 8080, tls: null, insecure: true });
    const fromEnv = loadCollectorConfig({ env: { NETMAP_NATS_URL: "nats://env:4222", NETMAP_HTTP_ADDR: "[::1]:9000" }, configFlag: file });
    assert.deepEqual(fromEnv.natsServers, ["nats://env:4222"]);
    assert.deepEqual(fromEnv.http, { host: "::1", port: 9000, tls: null, insecure: true });
    const fromFlag = loadCollectorConfig({ env: { NETMAP_NATS_URL: "nats://env:4222", NETMAP_TOKEN: "t" }, configFlag: file, flags: { natsUrl: "nats://flag:4222" } });
    assert.deepEqual(fromFlag.natsServers, ["nats://flag:4222"]);
    const cluster = loadCollectorConfig({ env: { NETMAP_NATS_URL: "nats://n1:4222, nats://n2:4222,nats://n3:4222" } });
    assert.deepEqual(cluster.natsServers, ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]);
  });

  test("a bad setting is refused with a message naming it", () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ NETMAP_HTTP_ADDR: "localhost" }, "", /http\.addr: expected HOST:PORT, got "localhost"/],
      [{ NETMAP_HTTP_ADDR: "1.2.3.4:70000" }, "", /http\.addr: expected HOST:PORT/],
      [{ NETMAP_NATS_URL: "http://x" }, "", /nats\.url: expected nats:\/\/HOST:PORT \(or tls:\/\/, ws:\/\/, wss:\/\/\), comma-separated for several/],
      [{ NETMAP_NATS_URL: "nats://a:4222,http://b" }, "", /nats\.url: expected nats:\/\/HOST:PORT/],
      [{ NETMAP_DATABASE_URL: "not a url" }, "", /database\.url: expected a postgres:\/\//],
      [{}, "hosts: { stale_after: soon }", /hosts\.stale_after: expected a positive duration like 30s/],
      [{}, "hosts: { stale_after: 5m, down_after: 1m }", /hosts\.down_after \(60s\) must be longer than hosts\.stale_after \(300s\)/],
      [{}, "natz: {}", /unknown setting natz/],
      [{}, "http: { adr: x }", /unknown setting http\.adr/],
      [{}, "- a list", /expected a mapping at the top level/],
      [{}, "a: [", /not valid YAML/],
    ];
    for (const [env, file, message] of cases) {
      assert.throws(() => loadCollectorConfig({ env, configFlag: configFile(file) }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test("stream limits have defaults, read sizes with units, and refuse what is too small or not a number", () => {
    assert.deepEqual(loadCollectorConfig({ env: {}, configFlag: configFile("") }).streams, {
      reports: { maxBytes: 4 * 1024 ** 3, maxMsgsPerAgent: 70_000 },
      events: { maxBytes: 1024 ** 3 },
    });
    const set = loadCollectorConfig({
      env: {},
      configFlag: configFile("streams:\n  reports:\n    max_bytes: 20GB\n    max_msgs_per_agent: 130000\n  events:\n    max_bytes: 256MiB\n"),
    });
    assert.deepEqual(set.streams, { reports: { maxBytes: 20e9, maxMsgsPerAgent: 130_000 }, events: { maxBytes: 256 * 1024 ** 2 } });
    for (const [yaml, message] of [
      ["streams:\n  reports:\n    max_bytes: 1MB\n", /streams\.reports\.max_bytes: expected a size like 4GiB or 500MB, at least 16 MiB, got "1MB"/],
      ["streams:\n  events:\n    max_bytes: lots\n", /streams\.events\.max_bytes: expected a size/],
      ["streams:\n  reports:\n    max_msgs_per_agent: 0\n", /streams\.reports\.max_msgs_per_agent: expected a whole number, at least 10/],
      ["streams:\n  reports:\n    max_msgs_per_agent: many\n", /streams\.reports\.max_msgs_per_agent: expected a whole number/],
    ] as const) {
      assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(yaml) }), { code: "CONFIG_INVALID", message }, yaml);
    }
  });

  test("the collector's inbox prefix has a default of its own and refuses a wildcard or the agents' inbox root", () => {
    assert.equal(loadCollectorConfig({ env: {}, configFlag: configFile("") }).natsInboxPrefix, "_INBOX_netmap.collector");
    assert.equal(loadCollectorConfig({ env: {}, configFlag: configFile("nats:\n  inbox_prefix: _INBOX_site1.collector\n") }).natsInboxPrefix, "_INBOX_site1.collector");
    for (const [yaml, message] of [
      ["nats:\n  inbox_prefix: _INBOX.>\n", /nats\.inbox_prefix: expected subject tokens/],
      ["nats:\n  inbox_prefix: _INBOX_netmap.agent.web01\n", /nats\.inbox_prefix: _INBOX_netmap\.agent is the agents'/],
    ] as const) {
      assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(yaml) }), { code: "CONFIG_INVALID", message }, yaml);
    }
  });

  test("a missing --config file is named", () => {
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: "/nonexistent/netmap.yaml" }), /config file \/nonexistent\/netmap\.yaml: not found/);
  });

  test("durations read like Prometheus'", () => {
    assert.equal(parseDurationSeconds("30s"), 30);
    assert.equal(parseDurationSeconds("2m"), 120);
    assert.equal(parseDurationSeconds("1h"), 3600);
    assert.equal(parseDurationSeconds("500ms"), 0.5);
    assert.equal(parseDurationSeconds("10"), undefined);
    assert.equal(parseDurationSeconds("-1s"), undefined);
  });
});

describe("collector config: retention", () => {
  test("retention defaults to raw 14d, minute 90d, hour 2y and takes h, d, w, y", () => {
    assert.deepEqual(loadCollectorConfig({ env: {}, configFlag: configFile("") }).retention, { raw: 14 * 86_400, minute: 90 * 86_400, hour: 730 * 86_400 });
    const given = loadCollectorConfig({ env: {}, configFlag: configFile("retention:\n  raw: 36h\n  minute: 12w\n  hour: 1y\n") }).retention;
    assert.deepEqual(given, { raw: 36 * 3_600, minute: 84 * 86_400, hour: 365 * 86_400 });
  });

  test("a retention of 0, a garbage duration, or a coarser tier kept less long than a finer one stops start-up naming the setting", () => {
    const load = (text: string) => () => loadCollectorConfig({ env: {}, configFlag: configFile(text) });
    assert.throws(load("retention:\n  raw: 0\n"), (e: unknown) => e instanceof ConfigError && /^retention\.raw: expected a positive duration like 14d.*got 0$/.test(e.message));
    assert.throws(load("retention:\n  minute: 0d\n"), /retention\.minute: expected a positive duration .* got "0d"/);
    assert.throws(load("retention:\n  hour: forever\n"), /retention\.hour: expected a positive duration .* got "forever"/);
    assert.throws(load("retention:\n  raw: 14 days\n"), /retention\.raw: .* got "14 days"/);
    assert.throws(load("retention:\n  raw: 100d\n"), /retention\.minute \(90d\) must be at least retention\.raw \(100d\)/);
    assert.throws(load("retention:\n  weekly: 1y\n"), /unknown setting retention\.weekly/);
  });
});
