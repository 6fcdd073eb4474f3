// The journal's sshd entries and fail2ban-client's status, parsed from recorded output:
// `journalctl -o json` of Debian 12's sshd (OpenSSH 9.2) and of OpenSSH 9.8's sshd-session,
// and fail2ban 1.0.2's `fail2ban-client status [jail]`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseFailures } from "../../../agent/src/auth-log.ts";
import { parseJailList, parseJailStatus } from "../../../agent/src/fail2ban.ts";
import { journalMessages } from "../../../agent/src/journal.ts";

const JOURNAL = [
  '{"__CURSOR":"s=a1;i=1f0","__REALTIME_TIMESTAMP":"1796137839824000","_TRANSPORT":"syslog","PRIORITY":"6","SYSLOG_FACILITY":"4","SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_PID":"4242","MESSAGE":"Failed password for root from 192.0.2.7 port 51234 ssh2"}',
  '{"__CURSOR":"s=a1;i=1f1","SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","MESSAGE":"Failed password for invalid user admin from 2001:db8::7 port 40022 ssh2"}',
  '{"__CURSOR":"s=a1;i=1f2","SYSLOG_IDENTIFIER":"sshd-session","_COMM":"sshd-session","MESSAGE":"Failed publickey for bob from 198.51.100.4 port 50000 ssh2: ED25519 SHA256:abc"}',
  // A user name that is not UTF-8: journalctl writes the field as bytes.
  `{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":${JSON.stringify([...Buffer.from("Failed password for invalid user \xff from 192.0.2.8 port 1 ssh2", "latin1")])}}`,
  '{"SYSLOG_IDENTIFIER":"sudo","_COMM":"sudo","MESSAGE":"Failed password for root from 192.0.2.99 port 1 ssh2"}',
  '{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Accepted publickey for alice from 192.0.2.1 port 2 ssh2"}',
  "not json",
  "null",
];

const STATUS = "Status\n|- Number of jail:\t2\n`- Jail list:\tnginx-http-auth, sshd\n";
const JAIL = [
  "Status for the jail: sshd",
  "|- Filter",
  "|  |- Currently failed:\t3",
  "|  |- Total failed:\t17",
  "|  `- File list:\t/var/log/auth.log",
  "`- Actions",
  "   |- Currently banned:\t1",
  "   |- Total banned:\t2",
  "   `- Banned IP list:\t192.0.2.7",
  "",
].join("\n");

describe("the journal and fail2ban", () => {
  test("takes the messages of sshd's journal entries, bytes included, and nothing else", () => {
    const messages = journalMessages(JOURNAL);
    assert.equal(messages.length, 5);
    assert.deepEqual(parseFailures(messages).map((f) => [f.address, f.user]), [
      ["192.0.2.7", "root"], ["2001:db8::7", "admin"], ["198.51.100.4", "bob"], ["192.0.2.8", "\ufffd"],
    ]);
  });

  test("reads the jail list and each jail's counts from fail2ban-client", () => {
    assert.deepEqual(parseJailList(STATUS), ["nginx-http-auth", "sshd"]);
    assert.deepEqual(parseJailList("Status\n|- Number of jail:\t0\n`- Jail list:\t\n"), []);
    assert.deepEqual(parseJailStatus("sshd", JAIL), { name: "sshd", currentlyFailed: 3, totalFailed: 17, currentlyBanned: 1, totalBanned: 2 });
    assert.equal(parseJailStatus("sshd", "ERROR  NOK: ('sshd',)\nSorry but the jail 'sshd' does not exist\n"), undefined);
  });
});
