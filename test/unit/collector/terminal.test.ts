import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadCollectorConfig } from "../../../collector/src/config.ts";
import { ConfigError } from "../../../collector/src/errors.ts";
import { fingerprint, keyType, learnKey, pinnedAlgorithms, pinnedKeys } from "../../../collector/src/terminal/known-hosts.ts";
import { castHeader } from "../../../collector/src/terminal/recording.ts";
import { parseClientMessage } from "../../../collector/src/terminal/session.ts";
import { ticketFromProtocols } from "../../../collector/src/terminal/tickets.ts";
import { userSshSettings } from "../../../collector/src/terminal/user-ssh-config.ts";

const dir = mkdtempSync(join(tmpdir(), "netmap-terminal-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const configFile = (text: string) => {
  const path = join(dir, `netmap-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
};
const key = (name: string, passphrase = "") => {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-f", path]);
  return path;
};

describe("terminal config (ssh:, terminal:)", () => {
  test("defaults: no identity, the environment's agent only when it is a socket, NetMap's known_hosts, 10 s per hop", () => {
    const config = loadCollectorConfig({ env: { SSH_AUTH_SOCK: join(dir, "no-such-socket"), NETMAP_KNOWN_HOSTS: "/k" }, configFlag: configFile("") });
    assert.deepEqual(config.ssh, { user: null, identities: [], agent: null, knownHostsFile: "/k", connectTimeoutSeconds: 10 });
    assert.deepEqual(config.terminal, { idleTimeoutSeconds: 1800, sessionsPerUser: 4, recordInput: false, retentionSeconds: 90 * 86400, maxRecordingBytes: 32 * 1024 ** 2 });
  });

  test("reads identities at start and never prints the key", () => {
    const identity = key("id_ok");
    const config = loadCollectorConfig({ env: {}, configFlag: configFile(`ssh:\n  identities: [${identity}]\n  user: netmap\n  agent: false\nterminal:\n  idle_timeout: 5m\n  record_input: true\n`) });
    assert.equal(config.ssh.identities[0]!.file, identity);
    assert.ok(config.ssh.identities[0]!.reveal().equals(readFileSync(identity)));
    assert.ok(!JSON.stringify(config).includes("PRIVATE KEY"), "the key is not in the config's JSON");
    assert.equal(config.terminal.idleTimeoutSeconds, 300);
    assert.equal(config.terminal.recordInput, true);
  });

  test("refuses an encrypted key, a key others may read, a missing agent and nonsense, naming the setting", () => {
    const encrypted = key("id_encrypted", "secret");
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`ssh:\n  identities: [${encrypted}]\n`) }), /ssh\.identities\[0\]: .* is encrypted; load it into an ssh-agent/);
    const open = key("id_open");
    chmodSync(open, 0o644);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`ssh:\n  identities: [${open}]\n`) }), /ssh\.identities\[0\]: .* may be read by group or others/);
    const notKey = join(dir, "not-a-key");
    writeFileSync(notKey, "hello", { mode: 0o600 });
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`ssh:\n  identities: [${notKey}]\n`) }), /is not a private key/);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile("ssh:\n  agent: true\n") }), /ssh\.agent: true, but SSH_AUTH_SOCK is not set/);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile(`ssh:\n  agent: ${dir}\n`) }), /ssh\.agent: .* is not a socket/);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile("terminal:\n  idle_timeout: soon\n") }), /terminal\.idle_timeout: expected a positive duration/);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile("terminal:\n  max_recording: 1KiB\n") }), /terminal\.max_recording: .* at least 64 KiB/);
    assert.throws(() => loadCollectorConfig({ env: {}, configFlag: configFile("ssh:\n  user: '-oProxyCommand=x'\n") }), ConfigError);
  });
});

describe("terminal tickets", () => {
  test("the ticket is read from the offered subprotocols", () => {
    assert.equal(ticketFromProtocols("netmap.terminal.v1, ticket.abc_-1"), "abc_-1");
    assert.equal(ticketFromProtocols("netmap.terminal.v1"), undefined);
    assert.equal(ticketFromProtocols(undefined), undefined);
  });
});

describe("terminal host keys", () => {
  test("fingerprints read as ssh-keygen -l writes them, and a learned key is found again under its alias", async () => {
    const hostKey = key("host_key");
    const [type, base64] = readFileSync(`${hostKey}.pub`, "utf8").split(" ");
    const blob = Buffer.from(base64!, "base64");
    assert.equal(keyType(blob), "ssh-ed25519");
    const expected = /(SHA256:\S+)/.exec(execFileSync("ssh-keygen", ["-l", "-f", `${hostKey}.pub`], { encoding: "utf8" }))![1];
    assert.equal(fingerprint({ type: type!, blob }), `${expected} (ED25519)`);

    const knownHosts = join(dir, "known", "known_hosts");
    assert.deepEqual(await pinnedKeys("lab.ns.target", knownHosts), [], "no file: nothing pinned");
    learnKey("lab.ns.target", { type: type!, blob }, knownHosts);
    const pinned = await pinnedKeys("lab.ns.target", knownHosts);
    assert.equal(pinned.length, 1);
    assert.ok(pinned[0]!.blob.equals(blob));
    assert.deepEqual(await pinnedKeys("lab.ns.target2", knownHosts), [], "another alias pins nothing");
    assert.deepEqual(pinnedAlgorithms(pinned), ["ssh-ed25519"]);
    // A known_hosts that cannot be read is an error, never "nothing pinned" (that would let any key in).
    await assert.rejects(pinnedKeys("lab.ns.target", dir), /ssh-keygen -F cannot read/);
    assert.deepEqual(pinnedAlgorithms([{ type: "ssh-rsa", blob }]), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  });
});

describe("terminal messages and recordings", () => {
  test("only a well-formed resize is taken from the browser", () => {
    assert.deepEqual(parseClientMessage('{"type":"resize","cols":120,"rows":40}'), { cols: 120, rows: 40 });
    for (const bad of ["", "nonsense", '{"type":"resize","cols":0,"rows":40}', '{"type":"resize","cols":1.5,"rows":40}', '{"type":"resize","cols":120,"rows":100000}', '{"type":"exec","cols":1,"rows":1}', "null"]) {
      assert.equal(parseClientMessage(bad), undefined, bad);
    }
  });

  test("a cast's header is asciicast v2 with the session's size, start and length", () => {
    const header = JSON.parse(castHeader({
      id: 7, actor: "alice", role: "operator", host: "lab/ns/target", chain: [], source: "127.0.0.1", startedAt: "2026-12-01T10:00:00.000Z", endedAt: "2026-12-01T10:00:12.500Z",
      exitStatus: 0, endReason: "exit", width: 100, height: 30, inputRecorded: false, recordedBytes: 0, truncated: false,
    }));
    assert.deepEqual(header, { version: 2, width: 100, height: 30, timestamp: Date.parse("2026-12-01T10:00:00Z") / 1000, duration: 12.5, title: "alice on lab/ns/target", env: { TERM: "xterm-256color" } });
  });
});

describe("the collector user's ssh_config, read with ssh -G", () => {
  test("takes User (not the collector's own name, ssh's default), usable IdentityFiles, IdentitiesOnly and IdentityAgent", async () => {
    const usable = key("id_user_usable");
    const encrypted = key("id_user_encrypted", "secret");
    const readable = key("id_user_readable");
    chmodSync(readable, 0o644);
    const config = join(dir, "ssh_config");
    writeFileSync(config, [
      "Host mine.lab.x", `  User ${userInfo().username}`,
      "Host *", "  User bob", `  IdentityFile ${encrypted}`, `  IdentityFile ${readable}`, `  IdentityFile ${join(dir, "no-such-key")}`, `  IdentityFile ${usable}`,
      "  IdentitiesOnly yes", "  IdentityAgent none", "",
    ].join("\n"));
    const settings = await userSshSettings(config, "lab.ns.target");
    assert.equal(settings.user, "bob");
    assert.deepEqual(settings.identities.map((k) => k.file), [usable], "only the key ssh could use: not encrypted, not readable by others, existing");
    assert.ok(settings.identities[0]!.reveal().equals(readFileSync(usable)));
    assert.equal(settings.identitiesOnly, true);
    assert.equal(settings.agent, null);
    assert.equal((await userSshSettings(config, "mine.lab.x")).user, null, "the collector's own name is what ssh says when nothing is set");
  });

  test("a config ssh cannot read rejects with ssh's own message; a User that is no login name is refused", async () => {
    const config = join(dir, "broken_config");
    writeFileSync(config, "Host *\n  NoSuchOption yes\n");
    await assert.rejects(userSshSettings(config, "lab.ns.target"), /NoSuchOption|Bad configuration option/i);
    writeFileSync(config, "Host *\n  User \"a b\"\n");
    await assert.rejects(userSshSettings(config, "lab.ns.target"), /User "a b" is not a login name/);
  });
});
