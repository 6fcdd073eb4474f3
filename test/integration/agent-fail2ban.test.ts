// fail2ban's jails against the real thing: Debian's fail2ban-server with its own config,
// socket and in-memory database, its sshd jail (Debian's sshd filter, no ban action) on an auth
// log written as rsyslog writes sshd's lines. The real agent (--once --json, auth_log: that
// file, fail2ban_socket: that socket) reports the jail's failed and banned counts.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { checkReport } from "../../proto/src/report-check.ts";
import { eventually } from "../helpers/wait.ts";

const run = promisify(execFile);
const main = new URL("../../agent/src/main.ts", import.meta.url).pathname;

describe("fail2ban's jails in the report", () => {
  let dir: string;
  let socket: string;
  let authLog: string;
  const client = (...args: string[]) => execFileSync("fail2ban-client", ["-s", socket, ...args], { encoding: "utf8", timeout: 30_000 });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "netmap-fail2ban-"));
    socket = join(dir, "fail2ban.sock");
    authLog = join(dir, "auth.log");
    writeFileSync(authLog, "");
    const conf = join(dir, "conf");
    mkdirSync(conf);
    cpSync("/etc/fail2ban/filter.d", join(conf, "filter.d"), { recursive: true });
    writeFileSync(join(conf, "fail2ban.conf"), [
      "[Definition]", "loglevel = INFO", `logtarget = ${join(dir, "fail2ban.log")}`, `socket = ${socket}`, `pidfile = ${join(dir, "fail2ban.pid")}`, "dbfile = :memory:", "",
    ].join("\n"));
    // No ban action: fail2ban counts and bans, and touches no firewall.
    writeFileSync(join(conf, "jail.conf"), [
      "[DEFAULT]", "backend = polling", "banaction =", "action =",
      "[sshd]", "enabled = true", "filter = sshd", `logpath = ${authLog}`, "maxretry = 3", "findtime = 600", "bantime = 600", "",
    ].join("\n"));
    execFileSync("fail2ban-client", ["-c", conf, "-s", socket, "-p", join(dir, "fail2ban.pid"), "start"], { stdio: "ignore", timeout: 60_000 });
  });

  after(() => {
    try {
      client("stop");
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  });

  async function report(): Promise<HostReport> {
    writeFileSync(join(dir, "agent.yaml"), `auth_log: ${authLog}\nfail2ban_socket: ${socket}\n`);
    const { stdout } = await run(process.execPath, [main, "--once", "--json", "--config", join(dir, "agent.yaml"), "--agent-id", "fail2ban-test"], { env: { ...process.env, NETMAP_LOG_LEVEL: "error" } });
    return checkReport(HostReport.fromJSON(JSON.parse(stdout)));
  }

  test("a jail with nothing found yet: zero counts", async () => {
    assert.deepEqual((await report()).sshAuth?.fail2banJails, [{ name: "sshd", currentlyFailed: 0, totalFailed: 0, currentlyBanned: 0, totalBanned: 0 }]);
  });

  test("five failures from one address: fail2ban bans it, and the report says so", async () => {
    const stamp = () => new Date().toLocaleString("en-US", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).replace(",", "").replace(/^(\w+) 0?(\d+)/, (_, m, d) => `${m} ${String(d).padStart(2, " ")}`);
    for (let i = 0; i < 5; i++) appendFileSync(authLog, `${stamp()} vm sshd[4242]: Failed password for root from 192.0.2.7 port ${51000 + i} ssh2\n`);
    await eventually(() => /Total banned:\s*1/.test(client("status", "sshd")), () => `fail2ban banning: ${client("status", "sshd")}`, 30_000);
    const jails = (await report()).sshAuth!.fail2banJails;
    assert.equal(jails.length, 1);
    assert.deepEqual([jails[0]!.name, jails[0]!.totalFailed, jails[0]!.currentlyBanned, jails[0]!.totalBanned], ["sshd", 5, 1, 1]);
  });
});
