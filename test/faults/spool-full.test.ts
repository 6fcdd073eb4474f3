// An agent whose spool sits on a full filesystem (a 128 KiB tmpfs, filled): it keeps reporting
// live, and when NATS is cut too, it loses what it can neither send nor keep, counts each one in
// the report's agent.unspooled_reports_total, and reports again as soon as NATS is back. The
// count is exact: the reports the agent built and the collector never stored.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { HostReport } from "../../proto/gen/netmap/v1/report.ts";
import { builtReports, signal, startAgentProcess, startCollectorProcess, type CollectorProcess, type Process } from "../helpers/fault-rig.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { eventually, withLog } from "../helpers/wait.ts";

const AGENT = "spool-full";

describe("faults: the agent's spool on a full filesystem", () => {
  let dir: string;
  let spoolDir: string;
  let mounted = false;
  let nats: TestNatsServer;
  let natsProxy: TcpProxy;
  let database: TestDatabase;
  let collector: CollectorProcess;
  let agent: Process;
  let sql: pg.Client;

  const storedSeqs = async () =>
    new Set((await sql.query<{ seq: string }>("SELECT r.seq FROM report_samples r JOIN hosts h ON h.id = r.host_id WHERE h.agent_id = $1", [AGENT])).rows.map((r) => Number(r.seq)));
  // The host's latest report as the collector keeps it (protobuf bytes, hosts.report).
  const latest = async () => {
    const row = (await sql.query<{ seq: string; report: Buffer | null }>("SELECT seq, report FROM hosts WHERE agent_id = $1", [AGENT])).rows[0];
    if (!row?.report) return undefined;
    const unspooled = HostReport.decode(row.report).agent?.unspooledReportsTotal;
    return { seq: row.seq, unspooled: unspooled === undefined ? null : String(unspooled) };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmap-spool-full-"));
    spoolDir = join(dir, "spool");
    mkdirSync(spoolDir);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=128k,mode=0700", "tmpfs", spoolDir]);
    mounted = true;
    nats = await startNatsServer();
    natsProxy = await startTcpProxy(nats.port);
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const configFile = join(dir, "netmap.yaml");
    writeFileSync(configFile, "hosts:\n  stale_after: 5s\n  down_after: 10s\n");
    collector = await startCollectorProcess({ natsUrls: nats.url, databaseUrl: database.url, configFile, token: "spool-full-token" });
  });

  after(async () => {
    await signal(agent, "SIGKILL");
    await signal(collector, "SIGKILL");
    await sql?.end();
    await natsProxy?.close();
    await database?.drop();
    await nats?.close();
    if (mounted) execFileSync("umount", [spoolDir]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("full disk: live reports go on; cut from NATS, the reports it cannot keep are lost and counted exactly; NATS back, it reports again", async () => {
    agent = startAgentProcess({ natsUrls: `nats://127.0.0.1:${natsProxy.port}`, agentId: AGENT, spoolDir, interval: "200ms" });
    await eventually(async () => (await storedSeqs()).size >= 3, withLog("its first reports", agent.log), 30_000);

    // Fill the filesystem to the last byte.
    const filler = join(spoolDir, "filler");
    for (let chunk = 64 * 1024; chunk >= 1; chunk = Math.floor(chunk / 2)) {
      try {
        for (;;) writeFileSync(filler, Buffer.alloc(chunk), { flag: "a" });
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
      }
    }
    // NATS there: reports go straight out, the spool is never needed.
    const before = (await storedSeqs()).size;
    await eventually(async () => (await storedSeqs()).size >= before + 5, withLog("live reports on a full disk", agent.log), 30_000);

    await natsProxy.cut();
    try {
      await eventually(() => agent.lines().some((l) => l.msg.startsWith("spool: cannot store reports")), withLog("the agent to find its spool full", agent.log), 30_000);
      await sleep(2_000);
    } finally {
      await natsProxy.restore();
    }
    const restoredAt = Math.max(...builtReports(agent));
    // Back: reports built after the restore are stored, carrying the count.
    const state = await eventually(async () => {
      const row = await latest();
      return row && Number(row.seq) > restoredAt + 3 && row;
    }, withLog("reports again after NATS is back", agent.log), 60_000);
    assert.equal(agent.child.exitCode, null, "the agent keeps running");

    const stored = await storedSeqs();
    const missing = builtReports(agent).filter((seq) => seq <= Number(state.seq) && !stored.has(seq));
    assert.ok(missing.length >= 1, "reports were lost while NATS was away");
    assert.equal(Number(state.unspooled), missing.length, `the report counts ${state.unspooled} lost; ${missing.length} never arrived (${missing.join(",")})`);
    assert.deepEqual(readdirSync(join(spoolDir, "reports")).filter((name) => name.endsWith(".tmp")), [], "no half-written record left taking space");
  });
});
