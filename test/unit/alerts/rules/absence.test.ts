import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fingerprint } from "../../../../collector/src/alerts/engine.ts";
import { judgeAbsence, type ReportingHost } from "../../../../collector/src/alerts/rules/absence.ts";
import { rulesConfigSchema } from "../../../../collector/src/alerts/settings.ts";

const none = rulesConfigSchema.parse({});
const host = (over: Partial<ReportingHost> = {}): ReportingHost => ({ hostId: 1, host: "web01", ageSeconds: 5, intervalSeconds: 10, ...over });
const judged = (h: ReportingHost, config = none) => judgeAbsence([h], config).map((o) => o.observation);

describe("HostDown", () => {
  test("is active once the last report is older than three intervals, and held for 30 s", () => {
    const [o] = judged(host({ ageSeconds: 31 }));
    assert.deepEqual(
      { rule: o!.rule, severity: o!.severity, labels: o!.labels, active: o!.active, cleared: o!.cleared, forSeconds: o!.forSeconds },
      { rule: "HostDown", severity: "critical", labels: { host: "web01" }, active: true, cleared: false, forSeconds: 30 },
    );
    assert.equal(o!.annotations.summary, "web01 has sent no report for 31 s");
  });

  test("waits at least 30 s whatever the interval, and three intervals when they are longer", () => {
    assert.equal(judged(host({ intervalSeconds: 2, ageSeconds: 29 }))[0]!.active, false);
    assert.equal(judged(host({ intervalSeconds: 60, ageSeconds: 179 }))[0]!.active, false);
    assert.equal(judged(host({ intervalSeconds: 60, ageSeconds: 181 }))[0]!.active, true);
  });

  test("clears only once a report is no older than two intervals", () => {
    const between = judged(host({ ageSeconds: 25 }))[0]!;
    assert.deepEqual([between.active, between.cleared], [false, false]);
    assert.equal(judged(host({ ageSeconds: 20 }))[0]!.cleared, true);
  });

  test("a host without a known interval is taken to report every 10 s", () => {
    assert.equal(judged(host({ intervalSeconds: null, ageSeconds: 31 }))[0]!.active, true);
  });

  test("a host the settings disable gives no observation; others keep theirs, with their host id", () => {
    const config = rulesConfigSchema.parse({ HostDown: { overrides: [{ match: { client: "lab" }, enabled: false }] } });
    const out = judgeAbsence([host({ client: "lab", ageSeconds: 99 }), host({ hostId: 2, host: "db1", client: "acme", ageSeconds: 99 })], config);
    assert.deepEqual(out.map((o) => [o.hostId, o.observation.labels.host]), [[2, "db1"]]);
  });

  test("two hosts of one name get an alert each, told apart by host_id; a name of its own keeps its fingerprint", () => {
    const out = judgeAbsence([host({ hostId: 1, ageSeconds: 99, sharedName: true }), host({ hostId: 2, ageSeconds: 99, sharedName: true }), host({ hostId: 3, host: "db1", ageSeconds: 99 })], none);
    assert.deepEqual(out.map((o) => o.observation.labels), [{ host: "web01", host_id: "1" }, { host: "web01", host_id: "2" }, { host: "db1" }]);
    const prints = out.map((o) => fingerprint(o.observation.rule, o.observation.labels, o.observation.severity));
    assert.equal(new Set(prints).size, 3);
    assert.equal(prints[2], fingerprint("HostDown", { host: "db1" }, "critical"), "as stored before: no host_id");
  });
});
