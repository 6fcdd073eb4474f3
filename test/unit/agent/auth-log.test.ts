import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openAuthLog, parseFailures, readAppended, recordFailures, topSources } from "../../../agent/src/auth-log.ts";

// As sshd writes them: with -E (no prefix), through syslog (Debian's auth.log), and through the journal's ISO time.
const LINES = [
  "Invalid user mallory from 192.0.2.9 port 53232",
  "Failed password for invalid user mallory from 192.0.2.9 port 53232 ssh2",
  "Dec  1 12:00:01 web01 sshd[811]: Failed password for root from 192.0.2.10 port 40022 ssh2",
  "2026-12-01T12:00:02.123456+00:00 web01 sshd[812]: Failed publickey for alice from 2001:DB8::7 port 22 ssh2: ED25519 SHA256:abc",
  "Dec  1 12:00:03 web01 sshd[813]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.10  user=root",
  "Dec  1 12:00:04 web01 sshd[814]: Accepted publickey for bob from 192.0.2.11 port 50000 ssh2",
  "Failed password for user name with spaces from 192.0.2.12 port 1 ssh2",
  "Failed password for x from not-an-address port 1 ssh2",
];

describe("auth log", () => {
  const dir = mkdtempSync(join(tmpdir(), "netmap-auth-log-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("counts each failed authentication once, with its source and the user tried, and nothing else", () => {
    assert.deepEqual(parseFailures(LINES), [
      { address: "192.0.2.9", user: "mallory" },
      { address: "192.0.2.10", user: "root" },
      { address: "2001:db8::7", user: "alice" },
      { address: "192.0.2.12", user: "user name with spaces" },
    ]);
  });

  test("reads only what is appended after start, whole lines, and the new file after a rotation", () => {
    const path = join(dir, "auth.log");
    writeFileSync(path, "Failed password for old from 192.0.2.1 port 1 ssh2\n");
    const state = openAuthLog(path);
    assert.deepEqual(readAppended(state), [], "what was there before the agent started is not counted");
    appendFileSync(path, "line one\nline tw");
    assert.deepEqual(readAppended(state), ["line one"]);
    appendFileSync(path, "o\n");
    assert.deepEqual(readAppended(state), ["line two"]);
    renameSync(path, `${path}.1`);
    writeFileSync(path, "after rotation\n");
    assert.deepEqual(readAppended(state), ["after rotation"]);
    writeFileSync(path, "truncated\n");
    assert.deepEqual(readAppended(state), ["truncated"]);
  });

  test("keeps failures for the window only, and lists the most failing sources first", () => {
    const state = openAuthLog(join(dir, "auth.log"));
    const failures = (address: string, n: number) => Array.from({ length: n }, () => ({ address, user: "root" }));
    recordFailures(state, [...failures("192.0.2.1", 2), ...failures("192.0.2.2", 5)], 100, 60);
    recordFailures(state, [...failures("192.0.2.3", 5), { address: "192.0.2.1", user: "admin" }], 130, 60);
    assert.deepEqual(topSources(state), { failures: 13, sources: [
      { address: "192.0.2.2", failures: 5, lastUser: "root" },
      { address: "192.0.2.3", failures: 5, lastUser: "root" },
      { address: "192.0.2.1", failures: 3, lastUser: "admin" },
    ] });
    recordFailures(state, [], 165, 60);
    assert.deepEqual(topSources(state), { failures: 6, sources: [{ address: "192.0.2.3", failures: 5, lastUser: "root" }, { address: "192.0.2.1", failures: 1, lastUser: "admin" }] });
    recordFailures(state, [], 200, 60);
    assert.deepEqual(topSources(state), { failures: 0, sources: [] });
  });
});
