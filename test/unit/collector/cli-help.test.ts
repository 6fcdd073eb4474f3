import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { connectAdmin, DEFAULT_COLLECTOR } from "../../../collector/src/cli/admin-client.ts";
import { COMMANDS, commandUsage, nearestCommand, USAGE } from "../../../collector/src/cli/help.ts";
import { localTokenPath } from "../../../collector/src/auth/token.ts";

const MAIN = new URL("../../../collector/src/main.ts", import.meta.url).pathname;
const netmap = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { PATH: process.env.PATH!, HOME: "/nonexistent" } });

describe("the CLI for a new user", () => {
  test("every command has usage lines of its own for --help", () => {
    for (const command of COMMANDS) {
      const help = commandUsage(USAGE, command);
      assert.match(help, new RegExp(`^usage: netmap\\n  ${command} `), command);
      assert.doesNotMatch(help, /environment:/, `${command} shows its own lines, not the whole usage`);
    }
  });

  test("a command given --help or -h prints them and exits 0, touching no collector", () => {
    const hosts = netmap("hosts", "--help");
    assert.equal(hosts.status, 0, hosts.stderr);
    assert.equal(hosts.stdout, commandUsage(USAGE, "hosts"));
    assert.match(netmap("silence", "ls", "-h").stdout, /silence expire ID/);
  });

  test("--help after -- belongs to the remote command of netmap ssh, not to netmap", () => {
    const result = netmap("ssh", "web01", "--", "ls", "--help");
    assert.doesNotMatch(result.stdout, /^usage: netmap/);
  });

  test("a misspelt command says unknown command and names the nearest one, exit 2", () => {
    const result = netmap("hots");
    assert.equal(result.status, 2);
    assert.equal(result.stderr, 'netmap: unknown command "hots"; did you mean "hosts"? (netmap --help lists them)\n');
    assert.equal(nearestCommand("sevre", COMMANDS), "serve");
    assert.equal(nearestCommand("ssh-conifg", COMMANDS), "ssh-config");
    assert.equal(nearestCommand("zzzz", COMMANDS), undefined, "nothing near: no guess");
    assert.equal(netmap("zzzz").stderr, 'netmap: unknown command "zzzz" (netmap --help lists them)\n');
  });

  test("commandUsage keeps a command's continuation lines and no other command's", () => {
    const usage = "usage: x\n  adopt HOST\n        more about adopt\n  route HOST   the chain\n\n  These ask...";
    assert.equal(commandUsage(usage, "adopt"), "usage: netmap\n  adopt HOST\n        more about adopt\n");
  });

  test("the CLI finds the collector at NETMAP_URL, else NETMAP_GRPC_ADDR, else the default", () => {
    const target = (env: Record<string, string>) => {
      const client = connectAdmin({ HOME: "/nonexistent", ...env });
      client.close();
      return client.target;
    };
    assert.equal(target({}), DEFAULT_COLLECTOR);
    assert.equal(target({ NETMAP_GRPC_ADDR: "127.0.0.1:17071" }), "127.0.0.1:17071");
    assert.equal(target({ NETMAP_GRPC_ADDR: "127.0.0.1:17071", NETMAP_URL: "10.0.0.1:7071" }), "10.0.0.1:7071");
    assert.throws(() => target({ NETMAP_GRPC_ADDR: "http://x" }), { message: 'NETMAP_GRPC_ADDR: expected HOST:PORT (or https://HOST:PORT) of the collector\'s gRPC service, got "http://x"' });
  });

  test("each collector instance's generated token has a file of its own, named by its gRPC address", () => {
    const env = { XDG_STATE_HOME: "/state" };
    assert.equal(localTokenPath(env, "127.0.0.1:7071"), "/state/netmap/token-127.0.0.1_7071");
    assert.equal(localTokenPath(env, "[::1]:7072"), "/state/netmap/token-___1__7072");
    assert.notEqual(localTokenPath(env, "127.0.0.1:7071"), localTokenPath(env, "127.0.0.1:7081"));
  });
});
