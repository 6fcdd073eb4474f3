import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import { judgeVersionSkew, newestVersion } from "../../../../collector/src/alerts/rules/versions.ts";
import { compareVersions } from "../../../../proto/src/release.ts";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";

const none = rulesConfigSchema.parse({});
const host = (agentVersion: string) => ({ hostId: 1, host: "web01", report: HostReport.fromPartial({ agentId: "a1", agentVersion }) });

describe("AgentVersionSkew", () => {
  test("orders versions as semver: numbers as numbers, a pre-release before its release, build metadata ignored", () => {
    const sorted = ["0.10.0", "0.2.0", "0.2.0-rc.10", "0.2.0-rc.2", "1.0.0", "0.2.0+build5", "0.9.1"].sort(compareVersions);
    assert.deepEqual(sorted, ["0.2.0-rc.2", "0.2.0-rc.10", "0.2.0", "0.2.0+build5", "0.9.1", "0.10.0", "1.0.0"]);
    assert.equal(compareVersions("0.2", "0.2.0"), 0);
    assert.equal(newestVersion(["0.9.1", "", "0.10.0", "0.2.0"]), "0.10.0");
    assert.equal(newestVersion([]), undefined);
  });

  test("is active for an agent older than the fleet's newest, held for an hour, and clears once it runs the newest", () => {
    const [behind] = judgeVersionSkew(host("0.9.1"), "0.10.0", none);
    assert.deepEqual(
      { rule: behind!.observation.rule, severity: behind!.observation.severity, labels: behind!.observation.labels, active: behind!.observation.active, forSeconds: behind!.observation.forSeconds },
      { rule: "AgentVersionSkew", severity: "warning", labels: { host: "web01" }, active: true, forSeconds: 3600 },
    );
    assert.equal(behind!.observation.annotations.summary, "web01 runs netmap-agent 0.9.1; the newest in the fleet is 0.10.0");
    const [current] = judgeVersionSkew(host("0.10.0"), "0.10.0", none);
    assert.deepEqual([current!.observation.active, current!.observation.cleared], [false, true]);
  });

  test("judges nothing without a version, without a fleet, or when disabled", () => {
    assert.deepEqual(judgeVersionSkew(host(""), "0.10.0", none), []);
    assert.deepEqual(judgeVersionSkew(host("0.9.1"), undefined, none), []);
    assert.deepEqual(judgeVersionSkew(host("0.9.1"), "0.10.0", rulesConfigSchema.parse({ AgentVersionSkew: { enabled: false } })), []);
  });
});
