import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matchesAll, parseDuration, parseMatcher, silencedBy, silenceState, validateMatchers, type Silence } from "../../../collector/src/alerts/silences.ts";

const alert = { rule: "filesystem_usage", severity: "critical" as const, labels: { host: "web01", mountpoint: "/var" } };
const at = (iso: string) => new Date(iso);
const silence = (matchers: Silence["matchers"], startsAt = "2026-11-23T10:00:00Z", endsAt = "2026-11-23T12:00:00Z"): Silence => ({
  id: "s1", matchers, startsAt: at(startsAt), endsAt: at(endsAt), createdBy: "me", comment: "", createdAt: at(startsAt),
});

describe("silence matchers", () => {
  test("exact matchers all have to match, alertname and severity included", () => {
    const labels = { alertname: "filesystem_usage", severity: "critical", host: "web01" };
    assert.ok(matchesAll([{ name: "host", value: "web01", isRegex: false }], labels));
    assert.ok(matchesAll([{ name: "alertname", value: "filesystem_usage", isRegex: false }, { name: "severity", value: "critical", isRegex: false }], labels));
    assert.ok(!matchesAll([{ name: "host", value: "web01", isRegex: false }, { name: "severity", value: "warning", isRegex: false }], labels));
    assert.ok(!matchesAll([{ name: "host", value: "web0", isRegex: false }], labels));
  });

  test("regex matchers are anchored at both ends, as Alertmanager's", () => {
    const labels = { host: "web01" };
    assert.ok(matchesAll([{ name: "host", value: "web.*", isRegex: true }], labels));
    assert.ok(matchesAll([{ name: "host", value: "web01|db01", isRegex: true }], labels));
    assert.ok(!matchesAll([{ name: "host", value: "web", isRegex: true }], labels), "a prefix alone does not match");
    assert.ok(!matchesAll([{ name: "host", value: "eb01", isRegex: true }], labels), "a suffix alone does not match");
  });

  test("a label the alert lacks is the empty string", () => {
    assert.ok(matchesAll([{ name: "site", value: "", isRegex: false }], { host: "a" }));
    assert.ok(!matchesAll([{ name: "site", value: "paris", isRegex: false }], { host: "a" }));
    assert.ok(matchesAll([{ name: "site", value: ".*", isRegex: true }], { host: "a" }));
  });

  test("parses name=value and name=~regex; rejects nonsense", () => {
    assert.deepEqual(parseMatcher("host=web01"), { name: "host", value: "web01", isRegex: false });
    assert.deepEqual(parseMatcher("host=~web.*"), { name: "host", value: "web.*", isRegex: true });
    assert.deepEqual(parseMatcher("summary=a=b"), { name: "summary", value: "a=b", isRegex: false });
    assert.throws(() => parseMatcher("host"), /expected name=value/);
    assert.throws(() => parseMatcher("1host=a"), /expected name=value/);
    assert.throws(() => parseMatcher("host=~(unclosed"), /invalid regular expression/);
    assert.throws(() => validateMatchers([]), /at least one matcher/);
  });

  test("names every wrong matcher of a body at once, by its place and field", () => {
    assert.throws(() => validateMatchers("host=web01"), /^BadRequestError: a silence needs at least one matcher$/);
    assert.throws(
      () => validateMatchers([{ name: "1host", value: "a" }, "x", { name: "host", value: 7 }, { name: "host", value: "(", isRegex: true }]),
      (error: Error) =>
        error.message ===
        'matcher 1 (name): invalid label name "1host"; matcher 2: expected {name, value, isRegex}; matcher 3 (value): value must be a string; ' +
          "matcher 4: invalid regular expression: Invalid regular expression: /^(?:()$/: Unterminated group",
    );
    assert.deepEqual(validateMatchers([{ name: "host", value: "web.*", isRegex: true }, { name: "site", value: "paris", isRegex: "yes" }]), [
      { name: "host", value: "web.*", isRegex: true },
      { name: "site", value: "paris", isRegex: false },
    ]);
  });
});

describe("silence windows", () => {
  test("pending before its start, active in its window, expired at its end", () => {
    const s = silence([{ name: "host", value: "web01", isRegex: false }]);
    assert.equal(silenceState(s, at("2026-11-23T09:59:59Z")), "pending");
    assert.equal(silenceState(s, at("2026-11-23T10:00:00Z")), "active");
    assert.equal(silenceState(s, at("2026-11-23T11:59:59Z")), "active");
    assert.equal(silenceState(s, at("2026-11-23T12:00:00Z")), "expired");
  });

  test("only active, matching silences mute an alert", () => {
    const web = silence([{ name: "host", value: "web01", isRegex: false }]);
    const db = { ...silence([{ name: "host", value: "db01", isRegex: false }]), id: "s2" };
    assert.deepEqual(silencedBy([web, db], alert, at("2026-11-23T11:00:00Z")).map((s) => s.id), ["s1"]);
    assert.deepEqual(silencedBy([web, db], alert, at("2026-11-23T13:00:00Z")), []);
    assert.deepEqual(silencedBy([web], { ...alert, labels: { host: "web02" } }, at("2026-11-23T11:00:00Z")), []);
  });

  test("durations", () => {
    assert.equal(parseDuration("2h"), 7200);
    assert.equal(parseDuration("1h30m"), 5400);
    assert.equal(parseDuration("1d"), 86_400);
    assert.throws(() => parseDuration("2 hours"), /invalid duration/);
    assert.throws(() => parseDuration("0m"), /positive/);
  });
});
