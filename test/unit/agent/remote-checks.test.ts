// The agent's side of netmap.yaml's checks: merged with agent.yaml's (its own win), asked
// again on a timer, a bad or missing answer keeping what runs.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import pino from "pino";
import { createCheckRunner } from "../../../agent/src/checks/runner.ts";
import { followCollectorChecks, mergeChecks } from "../../../agent/src/checks/remote.ts";
import { encodeChecksReply, type CheckConfig, type CheckEntry } from "../../../proto/src/check-config.ts";
import { eventually } from "../../helpers/wait.ts";

const tcp = (name: string, port: number): CheckConfig => ({ name, type: "tcp", host: "127.0.0.1", port, intervalSeconds: 30, timeoutSeconds: 1 });

describe("checks from the collector", () => {
  it("runs the agent's own checks first and the collector's of other names", () => {
    const { checks, shadowed } = mergeChecks([tcp("own", 1), tcp("both", 2)], [tcp("both", 3), tcp("theirs", 4)]);
    assert.deepEqual(checks.map((c) => [c.name, c.type === "tcp" && c.port]), [["own", 1], ["both", 2], ["theirs", 4]]);
    assert.deepEqual(shadowed, ["both"]);
  });

  it("follows the collector's answers: new checks run at once, removed ones leave the report, no answer keeps them", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const entry = (name: string): CheckEntry => ({ name, type: "tcp", address: `127.0.0.1:${port}` });
    let answer: Uint8Array | Error = encodeChecksReply([entry("theirs")]);
    const subjects: string[] = [];
    const runner = createCheckRunner([tcp("own", port)], pino({ level: "silent" }));
    runner.start();
    const stop = followCollectorChecks({
      agentId: "a1", own: [tcp("own", port)], runner, log: pino({ level: "silent" }), refreshSeconds: 0.05,
      request: async (subject) => {
        subjects.push(subject);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    try {
      const names = () => runner.results().map((r) => `${r.name}:${r.success}`).join(",");
      await eventually(() => names() === "theirs:true", "the collector's check run once", 5_000);
      await runner.runAll();
      assert.equal(names(), "own:true,theirs:true");
      assert.equal(subjects[0], "netmap.v1.checks.a1");

      answer = new Error("no responders");
      const asked = subjects.length;
      await eventually(() => subjects.length > asked + 2, "asked again", 5_000);
      assert.equal(names(), "own:true,theirs:true", "no answer keeps the checks");

      answer = new TextEncoder().encode('{"checks":[{"name":"bad name","type":"tcp","address":"x:1"}]}');
      await eventually(() => subjects.length > asked + 5, "asked again", 5_000);
      assert.equal(names(), "own:true,theirs:true", "a bad answer keeps the checks");

      answer = encodeChecksReply([entry("other")]);
      await eventually(() => names() === "own:true,other:true", "theirs replaced by other", 5_000);
    } finally {
      stop();
      runner.stop();
      server.close();
    }
  });
});
