// The real agent, run as a child process, against this machine.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { cpus } from "node:os";
import { basename } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

const run = promisify(execFile);
const main = new URL("../../../agent/src/main.ts", import.meta.url).pathname;

describe("netmap-agent --once --json", () => {
  let server: Server;
  let port: number;
  let report: Record<string, any>;

  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
    // No NATS URL that could answer: the run must not need the network.
    const { stdout } = await run(process.execPath, [main, "--once", "--json", "--nats", "nats://192.0.2.1:4222"], { env: { ...process.env, NETMAP_LOG_LEVEL: "warn" } });
    report = JSON.parse(stdout);
  });
  after(() => server.close());

  it("reports MemTotal from /proc/meminfo exactly, in bytes", () => {
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
    assert.equal(Number(report.memory.totalBytes), memTotalKiB * 1024);
  });

  it("counts the machine's logical CPUs", () => {
    assert.equal(report.cpu.logicalCores, cpus().length);
  });

  it("leaves the first cycle's rates absent", () => {
    assert.equal(report.cpu.usagePercent, undefined);
    for (const disk of report.disks) assert.equal(disk.readBytesPerSecond, undefined);
    for (const nic of report.interfaces) assert.equal(nic.rxBytesPerSecond, undefined);
  });

  it("lists every interface MAC of /sys/class/net", () => {
    const macs = readdirSync("/sys/class/net")
      .map((name) => readFileSync(`/sys/class/net/${name}/address`, "utf8").trim())
      .filter((mac) => mac && !/^(00:)*00$/.test(mac));
    assert.ok(macs.length > 0);
    const reported = new Set(report.interfaces.map((i: { mac: string }) => i.mac));
    for (const mac of macs) assert.ok(reported.has(mac), `${mac} missing`);
  });

  it("lists the test's own TCP port on 127.0.0.1 with this process as its owner", () => {
    const mine = report.listeners.find((l: { port: number; address: string }) => l.port === port && l.address === "127.0.0.1");
    assert.ok(mine, `no listener for 127.0.0.1:${port}`);
    assert.equal(mine.protocol, "PROTOCOL_TCP");
    assert.equal(mine.pid, process.pid);
    assert.equal(mine.process, basename(process.execPath));
    assert.equal(mine.process, "node");
  });

  it("identifies itself and says how each collector did", () => {
    assert.match(report.agentId, /^[a-z0-9_-]{1,64}$/);
    assert.equal(report.bootId, readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    assert.equal(report.seq, 1);
    assert.equal(report.agentVersion, JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version);
    assert.deepEqual(report.collectors.map((c: { name: string }) => c.name), ["os", "cpu", "memory", "disks", "mounts", "listeners", "interfaces", "containers"], "containers: auto looks for an engine socket; none here, so no containers");
    assert.ok(report.collectors.every((c: { success: boolean }) => c.success));
    assert.ok(report.mounts.some((m: { mountpoint: string }) => m.mountpoint === "/"));
  });

  it("exits 2 naming the setting when a value is bad", async () => {
    await assert.rejects(run(process.execPath, [main, "--interval", "abc"]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.equal(error.stderr, 'netmap-agent: invalid interval "abc" (--interval): expected a duration like 10s\n');
      return true;
    });
  });
});
