// netmap.yaml's `checks:`: validated as agent.yaml's are, and selected per host by the
// rules' match (client, site, host, label); the collector's answer is what an agent decodes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checksConfigSchema, checksFor, collectorChecks } from "../../../collector/src/checks/config.ts";
import { decodeChecksReply, encodeChecksReply } from "../../../proto/src/check-config.ts";

const config = (entries: unknown[]) => collectorChecks(checksConfigSchema.parse(entries), "netmap.yaml");

describe("collector checks", () => {
  const checks = config([
    { name: "fleet", type: "tcp", address: "10.0.0.5:5432" },
    { name: "web", type: "http", url: "https://shop.example/health", match: { label: "role=web" } },
    { name: "acme-db", type: "tcp", address: "db.acme:5432", interval: "1m", match: { client: "acme", site: "paris" } },
    { name: "one", type: "tcp", address: "[2001:db8::1]:22", match: { host: "web01" } },
  ]);

  it("selects the unmatched checks for every host and the matched ones for the hosts they name", () => {
    const names = (scope: Parameters<typeof checksFor>[1]) => checksFor(checks, scope).map((c) => c.name);
    assert.deepEqual(names({ host: "db01" }), ["fleet"]);
    assert.deepEqual(names({ host: "web01", labels: { role: "web" } }), ["fleet", "web", "one"]);
    assert.deepEqual(names({ host: "x", client: "acme", site: "paris" }), ["fleet", "acme-db"]);
    assert.deepEqual(names({ host: "x", client: "acme", site: "lyon" }), ["fleet"], "every field of a match must hold");
    assert.deepEqual(names({ host: "x", labels: { role: "webs" } }), ["fleet"]);
    assert.deepEqual(names(null), ["fleet"], "a host not known yet gets the unmatched checks only");
  });

  it("sends the checks as written, without their match, and an agent reads them back as agent.yaml's", () => {
    const sent = checksFor(checks, { host: "x", client: "acme", site: "paris" });
    assert.deepEqual(sent[1], { name: "acme-db", type: "tcp", address: "db.acme:5432", interval: "1m" });
    const received = decodeChecksReply(encodeChecksReply(sent), "the collector's checks");
    assert.deepEqual(received.map((c) => [c.name, c.intervalSeconds]), [["fleet", 30], ["acme-db", 60]]);
  });

  it("refuses a bad entry naming it and the file, as the agent would", () => {
    assert.throws(() => config([{ name: "a", type: "tcp", address: "nowhere" }]), { code: "CONFIG_INVALID", message: 'invalid checks[0].address "nowhere" in netmap.yaml: expected host:port or [v6]:port, port 1-65535' });
    assert.throws(() => config([{ name: "a", type: "tcp", address: "x:1" }, { name: "a", type: "tcp", address: "y:1", match: { host: "h" } }]), { message: 'invalid checks[1].name "a" in netmap.yaml: another check has this name' });
    assert.throws(() => config([{ type: "tcp", address: "x:1" }]), { code: "CONFIG_INVALID", message: /invalid checks\[0\]\.name in netmap\.yaml/ });
    assert.throws(() => checksConfigSchema.parse([{ name: "a", type: "tcp", address: "x:1", match: { rack: "3" } }]));
  });

  it("refuses an answer that is not the collector's form, naming where it came from", () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    assert.throws(() => decodeChecksReply(bytes("{"), "the collector's checks"), { code: "CONFIG_INVALID", message: /^the collector's checks: not JSON text/ });
    assert.throws(() => decodeChecksReply(bytes("[]"), "the collector's checks"), { message: 'the collector\'s checks: expected { "checks": [...] }' });
    assert.throws(() => decodeChecksReply(bytes('{"checks":[{"name":"a","type":"ping"}]}'), "the collector's checks"), { message: /^invalid checks\[0\]\.type in the collector's checks/ });
  });
});
