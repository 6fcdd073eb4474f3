// SSH brute force against the real thing: an OpenSSH sshd in a network namespace of its own,
// hammered with wrong passwords by ssh from the root namespace, its lines read by the real agent
// two ways: from a file (`sshd -E`, `auth_log: <path>`), and from a real systemd-journald
// (`auth_log: auto` on a host with no auth log file, as Debian 12 without rsyslog): journald runs
// in a mount namespace of the test's own (tmpfs over /run/systemd, /run/log and /var/log), sshd's
// stderr reaches it as a service's does (systemd-cat -t sshd), and the agent, run in that mount
// namespace, follows it with journalctl. The collector pages SSHBruteForce naming the source
// address, and resolves it once the failures leave the agent's window.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestCollector, type TestCollector } from "../helpers/collector.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../helpers/agent-process.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { freeSecondOctet } from "../helpers/subnet.ts";
import { eventually } from "../helpers/wait.ts";

const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;
const SUBNET = freeSecondOctet(100, 100);
const WINDOW_SECONDS = 20;

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

/** A systemd-journald in a mount namespace of its own, and how to run a program in that namespace. */
interface PrivateJournal {
  inside(argv: string[]): string[];
  /** sshd's lines in the journal, as `journalctl -o cat` prints them. */
  sshdLines(): string[];
  stop(): Promise<void>;
}

async function startPrivateJournal(): Promise<PrivateJournal> {
  // tmpfs over /var/log too: with no auth log file there, `auth_log: auto` turns to the journal.
  const setup = "for d in /run/systemd /run/log /var/log; do mount -t tmpfs tmpfs $d || exit 1; done; exec /lib/systemd/systemd-journald";
  const journald = spawn("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", setup], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  journald.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const root = `/proc/${journald.pid}/root`;
  await eventually(() => {
    if (journald.exitCode !== null) throw new Error(`systemd-journald exited: ${errors}`);
    return existsSync(`${root}/run/systemd/journal/stdout`);
  }, "journald's sockets");
  const inside = (argv: string[]) => ["nsenter", `--mount=/proc/${journald.pid}/ns/mnt`, "--", ...argv];
  return {
    inside,
    sshdLines: () => {
      const [command, ...args] = inside(["journalctl", "--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=sshd"]);
      return execFileSync(command!, args, { encoding: "utf8" }).split("\n");
    },
    stop: async () => {
      if (journald.exitCode !== null) return;
      const exited = new Promise((resolve) => journald.once("exit", resolve));
      journald.kill("SIGTERM");
      await exited;
    },
  };
}

for (const [source, link] of [["file", 77], ["journal", 78]] as const) {
  describe(`SSH brute force, sshd to alert (${source === "file" ? "sshd -E to a file" : "systemd-journald, auth_log: auto"})`, () => {
    // Named from this process's pid and addressed in a subnet free in the root namespace, as test/helpers/netns.ts does.
    const NS = `nmb${process.pid}${source[0]}`;
    const ATTACKER = `10.${SUBNET}.${link}.1`;
    const SERVER = `10.${SUBNET}.${link}.2`;
    let dir: string;
    let nats: TestNatsServer;
    let database: TestDatabase;
    let collector: TestCollector;
    let journal: PrivateJournal | undefined;
    let sshd: ChildProcess | undefined;
    let agent: RunningAgent | undefined;
    let log: string;
    /** sshd's lines, wherever they went. */
    const sshdLines = () => (journal ? journal.sshdLines() : readFileSync(log, "utf8").split("\n"));
    const inside = (argv: string[]) => (journal ? journal.inside(argv) : argv);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "netmap-sshbf-"));
      chmodSync(dir, 0o755);
      try {
        ip("netns", "delete", NS);
      } catch {}
      ip("netns", "add", NS);
      ip("-n", NS, "link", "set", "lo", "up");
      ip("link", "add", `${NS}-a`, "type", "veth", "peer", "name", `${NS}-b`);
      ip("link", "set", `${NS}-b`, "netns", NS);
      ip("addr", "add", `${ATTACKER}/24`, "dev", `${NS}-a`);
      ip("link", "set", `${NS}-a`, "up");
      ip("-n", NS, "addr", "add", `${SERVER}/24`, "dev", `${NS}-b`);
      ip("-n", NS, "link", "set", `${NS}-b`, "up");

      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
      writeFileSync(join(dir, "sshd_config"), [
        `ListenAddress ${SERVER}:22`, `HostKey ${join(dir, "host_key")}`, `PidFile ${join(dir, "sshd.pid")}`,
        "PasswordAuthentication yes", "KbdInteractiveAuthentication no", "UsePAM no", "MaxAuthTries 6", "MaxStartups 50", "PerSourceMaxStartups none", "LogLevel INFO", "",
      ].join("\n"));
      mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
      const sshdArgv = ["/usr/sbin/sshd", "-D", "-f", join(dir, "sshd_config")];
      if (source === "file") {
        log = join(dir, "sshd.log");
        writeFileSync(log, "");
        sshd = spawn("ip", ["netns", "exec", NS, ...sshdArgv, "-E", log], { stdio: "ignore" });
      } else {
        journal = await startPrivateJournal();
        // As a service's: its stderr is a journal stream named sshd (systemd-cat execs sshd, so the pid is sshd's).
        const [command, ...args] = journal.inside(["ip", "netns", "exec", NS, "systemd-cat", "-t", "sshd", ...sshdArgv, "-e"]);
        sshd = spawn(command!, args, { stdio: "ignore" });
      }
      await eventually(async () => sshdLines().some((line) => line.includes("Server listening")), "sshd listening");

      nats = await startNatsServer();
      database = await createTestDatabase();
      collector = await startTestCollector({ natsUrl: nats.url, databaseUrl: database.url });
      writeFileSync(join(dir, "agent.yaml"), `auth_log: ${source === "file" ? log : "auto"}\nauth_log_window: ${WINDOW_SECONDS}s\n`);
      const [command, ...args] = inside([process.execPath, main, "--config", join(dir, "agent.yaml"), "--nats", nats.url, "--interval", "1s", "--spool-dir", join(dir, "spool"), "--agent-id", `sshbf-${source}`]);
      agent = startAgentProcess(command!, args, { env: { ...process.env, NETMAP_LOG_LEVEL: "warn" } });
      await eventually(async () => (await collector.get("/api/v1/hosts")).body.hosts?.length === 1, "the agent's first report");
    });

    after(async () => {
      if (agent) await stopAgent(agent);
      await collector?.stop();
      await nats?.stop();
      await database?.drop();
      if (sshd && sshd.exitCode === null) {
        const exited = new Promise((resolve) => sshd!.once("exit", resolve));
        sshd.kill("SIGTERM");
        await exited;
      }
      await journal?.stop();
      try {
        ip("netns", "delete", NS);
      } catch {}
      try {
        ip("link", "delete", `${NS}-a`);
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    });

    /** One ssh connection trying three wrong passwords for a user that does not exist. */
    function attempt(): Promise<void> {
      const askpass = join(dir, "askpass");
      writeFileSync(askpass, "#!/bin/sh\necho not-the-password\n", { mode: 0o755 });
      return new Promise((resolve) => {
        const ssh = spawn("ssh", [
          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password",
          "-o", "NumberOfPasswordPrompts=3", "-o", "ConnectTimeout=5", `mallory@${SERVER}`, "true",
        ], { stdio: "ignore", env: { PATH: process.env.PATH, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "none" } });
        ssh.once("exit", () => resolve());
      });
    }

    const bruteForce = async () => (await collector.get("/api/v1/alerts")).body.alerts.filter((a: { rule: string }) => a.rule === "SSHBruteForce");

    test("wrong passwords from one address fire SSHBruteForce naming it, then resolve once they leave the window", async () => {
      assert.deepEqual(await bruteForce(), []);
      await Promise.all(Array.from({ length: 8 }, attempt));
      const failures = () => sshdLines().filter((l) => l.startsWith("Failed password for invalid user mallory")).length;
      // The journal takes the lines a moment after sshd wrote them.
      await eventually(() => failures() >= 20, () => `sshd logged ${failures()} failures`);
      const failed = failures();

      await eventually(async () => (await bruteForce()).some((a: { state: string }) => a.state === "firing"), "SSHBruteForce firing");
      const [alert] = await bruteForce();
      assert.deepEqual([alert.severity, alert.labels.source], ["warning", ATTACKER]);
      assert.equal(alert.annotations.summary, `${alert.value} failed SSH authentications on ${alert.labels.host} from ${ATTACKER} in ${WINDOW_SECONDS} s (last user tried: mallory)`);
      assert.ok(alert.value >= 20 && alert.value <= failed, `value ${alert.value}`);
      // The host page's figures: where the lines came from, the source, its count and the user tried.
      const { body } = await collector.get(`/api/v1/hosts/${alert.hostId}`);
      assert.deepEqual({ ...body.host.sshAuth, sources: body.host.sshAuth.sources.map((x: { address: string; lastUser: string }) => [x.address, x.lastUser]) },
        { log: source === "file" ? log : "journal", windowSeconds: WINDOW_SECONDS, failures: body.host.sshAuth.failures, sources: [[ATTACKER, "mallory"]], fail2banJails: [] }, "no fail2ban runs here");
      assert.ok(body.host.sshAuth.failures >= alert.value);

      await eventually(async () => (await bruteForce()).length === 0, "SSHBruteForce resolved", (WINDOW_SECONDS + 15) * 1000);
    });
  });
}
