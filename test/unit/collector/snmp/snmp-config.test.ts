import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { after, describe, test } from "node:test";
import { loadCollectorConfig } from "../../../../collector/src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "netmap-snmp-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const load = (yaml: string) => loadCollectorConfig({ env: {}, configFlag: file(`netmap-${Math.random()}.yaml`, yaml) });
const community = file("community", "s3cret-community\n");
const auth = file("auth", "auth-password-1\n");
const priv = file("priv", "priv-password-1\n");

describe("snmp config", () => {
  test("a v2c entry reads its community from its file, keeps defaults, and prints the community as [redacted] everywhere", () => {
    const [entry] = load(`snmp:\n  - { name: core, targets: [10.0.0.1, 10.0.8.0/29], version: 2c, community_file: ${community}, client: acme, site: dc1 }\n`).snmp;
    assert.ok(entry && entry.credentials.version === "2c");
    assert.equal(entry.credentials.community.reveal(), "s3cret-community");
    assert.deepEqual([entry.port, entry.intervalSeconds, entry.timeoutSeconds, entry.retries, entry.concurrency, entry.maxVarbinds, entry.deviceDeadlineSeconds], [161, 60, 2, 1, 16, 20_000, 30]);
    for (const shown of [JSON.stringify(entry), inspect(entry, { depth: 5 }), String(entry.credentials.community)]) assert.doesNotMatch(shown, /s3cret/);
  });

  test("a v3 entry is authPriv: every v3 setting is required, named when missing", () => {
    const [entry] = load(`snmp:\n  - { name: edge, targets: [192.0.2.1], version: 3, user: netmap, auth_protocol: sha256, auth_password_file: ${auth}, priv_protocol: aes, priv_password_file: ${priv}, client: acme, site: dc1 }\n`).snmp;
    assert.ok(entry && entry.credentials.version === "3");
    assert.deepEqual([entry.credentials.user, entry.credentials.authProtocol, entry.credentials.privProtocol], ["netmap", "sha256", "aes"]);
    assert.throws(() => load(`snmp:\n  - { name: edge, targets: [192.0.2.1], version: 3, user: netmap, auth_protocol: sha, auth_password_file: ${auth}, client: acme, site: dc1 }\n`), /snmp\[0\]\.priv_protocol: required for version 3 \(NetMap uses authPriv\)/);
  });

  test("bad entries stop the program with a message naming the setting", () => {
    const base = (extra: string) => `snmp:\n  - { name: core, version: 2c, community_file: ${community}, client: acme, site: dc1, ${extra} }\n`;
    assert.throws(() => load(base("targets: [10.0.0.0/8]")), /ranges wider than \/16 are not swept/);
    assert.throws(() => load(base("targets: [switch1.example]")), /"switch1\.example" is not an IPv4 or IPv6 address/);
    assert.throws(() => load(base("targets: [10.0.0.1], user: netmap")), /snmp\[0\]\.user: only for version 3/);
    assert.throws(() => load(`snmp:\n  - { name: core, targets: [10.0.0.1], version: 2c, community_file: ${join(dir, "absent")}, client: acme, site: dc1 }\n`), /snmp\[0\]\.community_file: cannot read .*absent: ENOENT/);
    assert.throws(() => load(`snmp:\n  - { name: core, targets: [10.0.0.1], version: 3, user: u, auth_protocol: sha, auth_password_file: ${file("short", "short")}, priv_protocol: aes, priv_password_file: ${priv}, client: acme, site: dc1 }\n`), /auth_password_file: SNMPv3 passwords are at least 8 characters/);
  });
});
