import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadAgentConfig, type AgentConfig, type ConfigInputs } from "../../../agent/src/config.ts";
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
      credsFile: undefined,
      agentId: undefined,
      once: false,
      json: false,
      logLevel: "info",
      configFile: undefined,
    });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.natsServers));
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
    assert.throws(() => load(["--json"]), { message: /--json needs --once/ });
    const once = load(["--once", "--json"]);
    assert.deepEqual([once.once, once.json], [true, true]);
  });

  it("loadAgentConfig - answers --help and --version before looking at anything else", () => {
    assert.deepEqual(loadAgentConfig({ argv: ["--help"], env: { NETMAP_AGENT_INTERVAL: "bad" }, readFile: noFile }), { command: "help" });
    assert.deepEqual(loadAgentConfig({ argv: ["-V"], env: {}, readFile: noFile }), { command: "version" });
  });
});
