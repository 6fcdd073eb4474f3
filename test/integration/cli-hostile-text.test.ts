// The CLI prints what agents and Proxmox named things: a hostname, a mount point or an alert
// summary carrying terminal escapes must show as text, never act on the operator's terminal
// (issue 10, finding 6). A real collector over gRPC, the real `netmap` as a child process; the
// hostile values are written straight into the database, as a store that predates validation
// (or a discovery source that skips it) would leave them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { startCliTestbed, type CliTestbed } from "../helpers/cli.ts";
import { TERMINAL_HOSTILE } from "../helpers/hostile.ts";
import type { Run } from "../helpers/run.ts";

/** What a terminal acts on: C0 but line feed and tab, DEL, C1. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function assertNoRawControl(result: Run, what: string): void {
  for (const [stream, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
    const found = RAW_CONTROL.exec(text);
    assert.equal(found, null, `${what}: ${stream} holds U+${found?.[0].charCodeAt(0).toString(16).padStart(4, "0")}: ${JSON.stringify(text)}`);
  }
}

describe("the CLI prints agent-supplied text without raw control characters", () => {
  let testbed: CliTestbed;

  before(async () => {
    testbed = await startCliTestbed();
    const client = new pg.Client({ connectionString: testbed.database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `INSERT INTO hosts (agent_id, hostname, received_at, interval_seconds, fullest_mountpoint, fullest_mount_percent, addresses)
         VALUES ('hostile', $1, now(), 10, $1, 97, ARRAY[$1]) RETURNING id`,
        [TERMINAL_HOSTILE],
      );
      await client.query(
        `INSERT INTO alerts (fingerprint, rule, severity, labels, annotations, state, value, active_since, starts_at, host_id)
         VALUES ('f00d', 'MountFull', 'warning', $1, $2, 'firing', 97, now(), now(), $3)`,
        [JSON.stringify({ host: TERMINAL_HOSTILE, mountpoint: TERMINAL_HOSTILE }), JSON.stringify({ summary: `${TERMINAL_HOSTILE} is full` }), rows[0].id],
      );
    } finally {
      await client.end();
    }
  });

  after(() => testbed?.close());

  const netmap = (args: string[], timeoutMs?: number) => testbed.netmap(args, {}, timeoutMs);

  test("netmap hosts shows a hostile hostname, mount point and address as escapes, on one line", async () => {
    const result = await netmap(["hosts"]);
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControl(result, "netmap hosts");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2, result.stdout);
    assert.ok(lines[1]!.startsWith("web\\u001b[2J\\u001b]0;owned\\u0007\\u001b]8;;http://x\\u001b\\\\u009b31m\\u007f\\u0007end  "), lines[1]);
  });

  test("netmap hosts --json is still the same JSON, the names exact, with DEL and C1 as \\u escapes", async () => {
    const result = await netmap(["hosts", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControl(result, "netmap hosts --json");
    const [host] = JSON.parse(result.stdout);
    assert.equal(host.hostname, TERMINAL_HOSTILE);
    assert.deepEqual(host.addresses, [TERMINAL_HOSTILE]);
  });

  test("netmap alerts, --json and --watch show a hostile host label and summary as escapes", async () => {
    for (const args of [["alerts"], ["alerts", "--json"]]) {
      const result = await netmap(args);
      assert.equal(result.code, 0, result.stderr);
      assertNoRawControl(result, `netmap ${args.join(" ")}`);
      assert.match(result.stdout, /MountFull/);
    }
    // --watch runs until a signal: the open alerts come first, then it is stopped.
    const watch = await netmap(["alerts", "--watch"], 4000);
    assertNoRawControl(watch, "netmap alerts --watch");
    assert.match(watch.stdout, /open {5}firing {3}warning {3}MountFull {2}web\\u001b\[2J/);
  });

  test("an error naming a hostile host reaches stderr escaped", async () => {
    const result = await netmap(["route", TERMINAL_HOSTILE]);
    assert.equal(result.code, 1);
    assertNoRawControl(result, "netmap route");
    assert.match(result.stderr, /^netmap: no host "web\\u001b\[2J/);
  });
});
