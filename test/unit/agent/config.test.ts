import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadAgentConfig, printableConfig, type AgentConfig, type ConfigInputs } from "../../../agent/src/config.ts";
import { parseSizeBytes } from "../../../lib/settings.ts";
import type { PeerCertificate } from "node:tls";
import { natsConnectOptions, serverIdentityCheck } from "../../../agent/src/nats-auth.ts";
import { ConfigError } from "../../../agent/src/errors.ts";

const noFile: ConfigInputs["readFile"] = (path) => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
};
const files = (contents: Record<string, string>): ConfigInputs["readFile"] => (path) => contents[path] ?? noFile(path);

function load(argv: string[], env: Record<string, string> = {}, readFile = noFile): AgentConfig {
  const command = loadAgentConfig({ argv, env, readFile });
  assert.equal(command.command, "run");
  return (command as { config: AgentConfig }).config;
}

describe("agent config", () => {
  it("loadAgentConfig - uses the documented defaults when nothing is given", () => {
    const config = load([]);
    assert.deepEqual(config, {
      natsServers: ["nats://127.0.0.1:4222"],
      intervalSeconds: 10,
      spoolDir: "/var/lib/netmap-agent",
      spoolMaxBytes: 100 * 1024 * 1024,
      natsUser: undefined,
      natsPassword: undefined,
      natsToken: undefined,
      nkeySeedFile: undefined,
      credsFile: undefined,
      tlsCaFile: undefined,
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
      agentId: undefined,
      once: false,
      json: false,
      logLevel: "info",
      configFile: undefined,
      printConfig: false,
      checks: [],
      authLog: "off",
      authLogWindowSeconds: 600,
      checksRefreshSeconds: 60,
      fail2banSocket: undefined,
      containers: "auto",
      releaseKey: undefined,
    });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.natsServers));
  });

  it("loadAgentConfig - reads the release key from the file, NETMAP_RELEASE_KEY or --release-key, and refuses one that is not an ed25519 key", () => {
    const key = `MCowBQYDK2VwAyEA${Buffer.alloc(32, 7).toString("base64")}`;
    const other = `MCowBQYDK2VwAyEA${Buffer.alloc(32, 9).toString("base64")}`;
    assert.equal(load([], {}, files({ "/etc/netmap/agent.yaml": `release_key: ${key}\n` })).releaseKey, key);
    assert.equal(load([], { NETMAP_RELEASE_KEY: key }).releaseKey, key);
    assert.equal(load(["--release-key", other], { NETMAP_RELEASE_KEY: key }).releaseKey, other);
    // An RSA SubjectPublicKeyInfo, a key cut short, text.
    for (const bad of ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", key.slice(0, -8), "not a key"]) {
      assert.throws(() => load(["--release-key", bad]), (error: Error) => error instanceof ConfigError && /invalid release key .*\(--release-key\): expected an ed25519 public key/.test(error.message));
    }
  });

  it("loadAgentConfig - lets the environment override /etc/netmap/agent.yaml and flags override both", () => {
    const readFile = files({ "/etc/netmap/agent.yaml": "nats:\n  url: nats://file:4222\ninterval: 1m\nspool_dir: /srv/netmap\nagent_id: from-file\n" });
    const fromFile = load([], {}, readFile);
    assert.deepEqual([fromFile.natsServers, fromFile.intervalSeconds, fromFile.spoolDir, fromFile.agentId, fromFile.configFile], [["nats://file:4222"], 60, "/srv/netmap", "from-file", "/etc/netmap/agent.yaml"]);
    const env = { NETMAP_NATS_URL: "nats://env:4222", NETMAP_AGENT_INTERVAL: "30s", NETMAP_AGENT_ID: "from-env", NETMAP_SPOOL_DIR: "/var/spool/netmap" };
    const fromEnv = load([], env, readFile);
    assert.deepEqual([fromEnv.natsServers, fromEnv.intervalSeconds, fromEnv.spoolDir, fromEnv.agentId], [["nats://env:4222"], 30, "/var/spool/netmap", "from-env"]);
    const fromFlags = load(["--nats", "nats://a:4222,tls://b:4222", "--interval=500ms", "--agent-id", "from-flag", "--spool-dir", "/tmp/s"], env, readFile);
    assert.deepEqual([fromFlags.natsServers, fromFlags.intervalSeconds, fromFlags.spoolDir, fromFlags.agentId], [["nats://a:4222", "tls://b:4222"], 0.5, "/tmp/s", "from-flag"]);
  });

  it("loadAgentConfig - reads --config F instead of the default file, and fails when it is missing", () => {
    const config = load(["--config", "/opt/agent.yaml"], {}, files({ "/opt/agent.yaml": "interval: 5s\n", "/etc/netmap/agent.yaml": "interval: 1m\n" }));
    assert.equal(config.intervalSeconds, 5);
    assert.throws(() => load(["--config", "/nope.yaml"]), { message: "config file /nope.yaml (--config): not found" });
  });

  it("loadAgentConfig - names the flag, variable or file setting that holds a bad value", () => {
    assert.throws(() => load(["--interval", "abc"]), (error) => error instanceof ConfigError && error.message === 'invalid interval "abc" (--interval): expected a duration like 10s');
    assert.throws(() => load([], { NETMAP_AGENT_INTERVAL: "0s" }), { message: 'invalid interval "0s" (NETMAP_AGENT_INTERVAL): expected a duration like 10s' });
    assert.throws(() => load([], { NETMAP_NATS_URL: "http://x" }), { message: /invalid nats "http:\/\/x" \(NETMAP_NATS_URL\): expected nats:\/\// });
    assert.throws(() => load(["--agent-id", "Web01.example"]), { message: 'invalid agent id "Web01.example" (--agent-id): expected 1-64 characters of [a-z0-9_-]' });
    const readFile = files({ "/etc/netmap/agent.yaml": "interval: forever\n" });
    assert.throws(() => load([], {}, readFile), { message: 'invalid interval "forever" (interval in /etc/netmap/agent.yaml): expected a duration like 10s' });
  });

  it("loadAgentConfig - refuses unknown flags, unknown file settings and --json without --once", () => {
    assert.throws(() => load(["--bogus"]), (error) => error instanceof ConfigError && /Unknown option '--bogus'/.test(error.message));
    assert.throws(() => load([], {}, files({ "/etc/netmap/agent.yaml": "intervall: 10s\n" })), { message: "config file /etc/netmap/agent.yaml: unknown setting intervall" });
    assert.throws(() => load([], {}, files({ "/etc/netmap/agent.yaml": "nats:\n  tls: yes\n" })), { message: "config file /etc/netmap/agent.yaml: nats.tls: expected a mapping" });
    assert.throws(() => load([], {}, files({ "/etc/netmap/agent.yaml": "nats:\n  url: [a, b]\n" })), { message: "config file /etc/netmap/agent.yaml: nats.url: expected a string" });
    assert.throws(() => load([], {}, files({ "/etc/netmap/agent.yaml": "interval: [1]\n" })), { message: "config file /etc/netmap/agent.yaml: interval: expected a string or a number" });
    assert.throws(() => load(["--json"]), { message: /--json needs --once/ });
    const once = load(["--once", "--json"]);
    assert.deepEqual([once.once, once.json], [true, true]);
  });

  it("loadAgentConfig - reads checks: with their defaults, and names the entry and field of a bad one", () => {
    const yaml = (checks: string) => files({ "/etc/netmap/agent.yaml": `checks:\n${checks}` });
    const config = load([], {}, yaml("  - { name: shop, type: http, url: https://shop.example/health, interval: 1m, ca_file: ca.pem }\n  - { name: db, type: tcp, address: \"[2001:db8::5]:5432\", timeout: 2s }\n"));
    assert.deepEqual(config.checks, [
      { name: "shop", type: "http", url: "https://shop.example/health", status: undefined, caFile: `${process.cwd()}/ca.pem`, intervalSeconds: 60, timeoutSeconds: 5 },
      { name: "db", type: "tcp", host: "2001:db8::5", port: 5432, intervalSeconds: 30, timeoutSeconds: 2 },
    ]);
    const refused = (checks: string, message: string) => assert.throws(() => load([], {}, yaml(checks)), { message });
    const file = "/etc/netmap/agent.yaml";
    refused("  - { name: db, type: tcp, address: db.example }\n", `invalid checks[0].address "db.example" in ${file}: expected host:port or [v6]:port, port 1-65535`);
    refused("  - { name: db, type: tcp }\n", `invalid checks[0].address in ${file}: a tcp check needs an address like 10.0.0.5:5432`);
    refused("  - { name: shop, type: http, url: ftp://x/ }\n", `invalid checks[0].url "ftp://x/" in ${file}: expected an http:// or https:// URL`);
    refused("  - { name: a, type: tcp, address: \"x:1\" }\n  - { name: a, type: tcp, address: \"x:2\" }\n", `invalid checks[1].name "a" in ${file}: another check has this name`);
    refused("  - { name: \"my shop\", type: http, url: \"http://x/\" }\n", `invalid checks[0].name "my shop" in ${file}: expected 1-64 characters of [A-Za-z0-9._-]`);
    refused("  - { name: s, type: http, url: \"http://x/\", timeout: 1m }\n", `invalid checks[0].timeout "1m" in ${file}: expected no more than the interval (30 s)`);
    refused("  - { name: s, type: http, url: \"http://x/\", status: 999 }\n", `invalid checks[0].status 999 in ${file}: expected an HTTP status from 100 to 599`);
    refused("  - { name: s, type: tcp, address: \"x:1\", url: \"http://x/\" }\n", `invalid checks[0].url in ${file}: is not a setting of a tcp check`);
    refused("  - { name: s, type: ping, address: \"x:1\" }\n", `config file ${file}: checks.0.type: expected one of http, tcp`);
    refused("  name: s\n", `config file ${file}: checks: expected a list`);
  });

  it("loadAgentConfig - reads auth_log as auto, off or a path, with its window, from the file or NETMAP_AUTH_LOG", () => {
    const yaml = (text: string) => files({ "/etc/netmap/agent.yaml": text });
    assert.deepEqual([load([]).authLog, load([]).authLogWindowSeconds], ["off", 600]);
    assert.equal(load([], {}, yaml("auth_log: auto\n")).authLog, "auto");
    const fromFile = load([], {}, yaml("auth_log: /var/log/sshd.log\nauth_log_window: 5m\n"));
    assert.deepEqual([fromFile.authLog, fromFile.authLogWindowSeconds], ["/var/log/sshd.log", 300]);
    assert.equal(load([], { NETMAP_AUTH_LOG: "off" }, yaml("auth_log: auto\n")).authLog, "off");
    assert.throws(() => load([], {}, yaml('auth_log: ""\n')), { message: 'invalid auth log "" (auth_log in /etc/netmap/agent.yaml): expected auto, off, journal or the path of a log file sshd writes to' });
    assert.throws(() => load([], {}, yaml("auth_log_window: 0s\n")), { message: 'invalid auth log window "0s" (auth_log_window in /etc/netmap/agent.yaml): expected a duration of at least 1s, like 10m' });
  });

  it("loadAgentConfig - reads checks_refresh, how often the collector is asked for its checks, from the file", () => {
    const yaml = (text: string) => files({ "/etc/netmap/agent.yaml": text });
    assert.equal(load([], {}, yaml("checks_refresh: 5m\n")).checksRefreshSeconds, 300);
    assert.throws(() => load([], {}, yaml("checks_refresh: 0s\n")), { message: 'invalid checks refresh "0s" (checks_refresh in /etc/netmap/agent.yaml): expected a duration of at least 1s, like 1m' });
  });

  it("loadAgentConfig - answers --help and --version before looking at anything else", () => {
    assert.deepEqual(loadAgentConfig({ argv: ["--help"], env: { NETMAP_AGENT_INTERVAL: "bad" }, readFile: noFile }), { command: "help" });
    assert.deepEqual(loadAgentConfig({ argv: ["-V"], env: {}, readFile: noFile }), { command: "version" });
  });

  it("loadAgentConfig - reads NATS authentication and TLS from the file, the environment and flags", () => {
    const readFile = files({
      "/etc/netmap/agent.yaml": "nats:\n  url: tls://nats.example:4222\n  user: agent\n  password: s3cret\n  tls:\n    ca: /etc/netmap/ca.pem\n    cert: /etc/netmap/agent.pem\n    key: /etc/netmap/agent.key\nspool_max_size: 1GiB\n",
    });
    const config = load([], {}, readFile);
    assert.deepEqual(
      [config.natsUser, config.natsPassword, config.tlsCaFile, config.tlsCertFile, config.tlsKeyFile, config.spoolMaxBytes],
      ["agent", "s3cret", "/etc/netmap/ca.pem", "/etc/netmap/agent.pem", "/etc/netmap/agent.key", 1024 ** 3],
    );
    assert.equal(load([], { NETMAP_NATS_TOKEN: "t0ken" }).natsToken, "t0ken");
    assert.equal(load(["--nkey", "/etc/netmap/agent.nk"]).nkeySeedFile, "/etc/netmap/agent.nk");
    assert.equal(load(["--spool-max-size", "250MB"]).spoolMaxBytes, 250_000_000);
  });

  it("loadAgentConfig - refuses two authentication methods, a password without a user and half a client certificate", () => {
    assert.throws(() => load(["--creds", "/a.creds"], { NETMAP_NATS_TOKEN: "t" }), { message: "NATS authentication: token and creds are both set; choose one" });
    assert.throws(() => load([], { NETMAP_NATS_PASSWORD: "p" }), { message: "NATS authentication: a password needs a user (nats.user, NETMAP_NATS_USER)" });
    assert.throws(() => load(["--tls-cert", "/c.pem"]), { message: /a client certificate needs its key/ });
    assert.throws(() => load(["--spool-max-size", "lots"]), { message: 'invalid spool max size "lots" (--spool-max-size): expected a size like 100MB or 1GiB, at least 1MB' });
    assert.throws(() => load([], {}, files({ "/etc/netmap/agent.yaml": "nats:\n  password: ''\n" })), { message: "invalid password (not shown) (nats.password in /etc/netmap/agent.yaml): expected a password" });
  });

  it("printableConfig - masks the password and token and leaves out what is unset", () => {
    const shown = printableConfig(load(["--print-config"], { NETMAP_NATS_USER: "agent", NETMAP_NATS_PASSWORD: "s3cret" }));
    assert.equal(shown.natsUser, "agent");
    assert.equal(shown.natsPassword, "********");
    assert.ok(!JSON.stringify(shown).includes("s3cret"));
    assert.ok(!("natsToken" in shown));
    assert.equal(printableConfig(load([], { NETMAP_NATS_TOKEN: "t0ken" })).natsToken, "********");
  });

  it("parseSizeBytes - reads decimal and binary units and plain bytes", () => {
    assert.deepEqual(["100MB", "1GiB", "512kib", "2048", "1.5 GB", "ten"].map(parseSizeBytes), [100e6, 1024 ** 3, 512 * 1024, 2048, 1.5e9, undefined]);
  });

  it("natsConnectOptions - reads creds, nkey seeds and TLS files, naming the setting when one is wrong", () => {
    const seed = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
    const base = load([]);
    const nkey = natsConnectOptions({ ...base, nkeySeedFile: "/k" }, files({ "/k": `${seed}\n` }));
    assert.equal(typeof nkey.authenticator, "function");
    assert.throws(() => natsConnectOptions({ ...base, nkeySeedFile: "/k" }, files({ "/k": "nothing" })), { message: 'invalid nkey "/k": no user nkey seed (SU...) in the file' });
    assert.throws(() => natsConnectOptions({ ...base, credsFile: "/c" }, noFile), { message: /^invalid creds "\/c": ENOENT/ });
    assert.throws(() => natsConnectOptions({ ...base, credsFile: "/c" }, files({ "/c": "x" })), { message: 'invalid creds "/c": not a NATS .creds file (no user JWT and nkey seed)' });
    const tls = natsConnectOptions({ ...base, natsServers: ["nats://n:4222"], tlsCaFile: "/ca", tlsCertFile: "/crt", tlsKeyFile: "/key" }, files({ "/ca": "CA", "/crt": "CRT", "/key": "KEY" }));
    assert.deepEqual(tls.tls, { ca: "CA", cert: "CRT", key: "KEY" });
    assert.deepEqual(natsConnectOptions({ ...base, natsServers: ["tls://n:4222"] }).tls, {});
    const byAddress = natsConnectOptions({ ...base, natsServers: ["tls://10.0.0.5:4222"] }).tls as { checkServerIdentity?: unknown };
    assert.equal(typeof byAddress.checkServerIdentity, "function");
  });

  it("serverIdentityCheck - accepts a certificate for the configured IP address, which the NATS client presents to TLS as localhost", () => {
    const cert = (subjectaltname: string) => ({ subject: { CN: "nats" }, subjectaltname }) as unknown as PeerCertificate;
    assert.equal(serverIdentityCheck(["nats://nats.example:4222"]), undefined, "a name is given to TLS as is: nothing to add");
    const check = serverIdentityCheck(["nats://nats.example:4222", "tls://10.0.0.5:4222", "nats://[fd00::5]:4222"])!;
    assert.equal(check("localhost", cert("IP Address:10.0.0.5")), undefined);
    assert.equal(check("localhost", cert("IP Address:FD00:0:0:0:0:0:0:5")), undefined);
    assert.equal(check("localhost", cert("DNS:localhost")), undefined);
    assert.match(String(check("localhost", cert("IP Address:10.0.0.6"))), /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(String(check("nats.example", cert("IP Address:10.0.0.5"))), /nats\.example/, "a server given by name is checked by that name only");
  });
});
