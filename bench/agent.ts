// npm run bench:agent — what the agent costs a host, beside Debian's
// prometheus-node-exporter on the same machine in the same run.
//
// The single binary (built first) publishes to a private nats-server every
// BENCH_INTERVAL (default 1s) for BENCH_SECONDS (default 60), twice at once:
// as run by hand, and with the environment its systemd unit gives it
// (GLIBC_TUNABLES, read from deploy/systemd/netmap-agent.service).
// node_exporter (default collectors, on a free loopback port) is scraped at
// the same rate with fetch, and its response read in full. CPU is utime +
// stime from /proc/<pid>/stat over the measured window (the first cycle and
// scrape, which warm caches, are left out), divided by the cycles or scrapes
// in it. Memory is VmRSS at the end and VmHWM (the peak) from
// /proc/<pid>/status, and VmRSS split into RssAnon (heap, stacks: the
// process's own) and RssFile (pages of the executable and libraries: clean,
// shared with the page cache, dropped first under memory pressure). Both
// binaries start out of the page cache, as after a reboot (dropFromPageCache).
// BENCH_CONTAINERS=N adds a private dockerd running N containers the agents read.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { parseDurationSeconds } from "../lib/settings.ts";
import { REPORT_SUBJECTS, REPORTS_STREAM } from "../proto/src/subjects.ts";
import { freePort, startNatsServer, waitForPort } from "../test/helpers/nats-server.ts";
import { BUSYBOX_IMAGE, startDockerd, type TestDockerd } from "../test/helpers/dockerd.ts";

const root = resolve(import.meta.dirname, "..");
const INTERVAL = parseDurationSeconds(process.env.BENCH_INTERVAL ?? "1s")!;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
// BENCH_CONTAINERS=N: a private dockerd runs N busybox containers and the agents read them (containers: SOCKET).
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 0);
const NODE_EXPORTER = which(process.env.BENCH_NODE_EXPORTER ?? "prometheus-node-exporter");
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function cpuSeconds(pid: number): { user: number; system: number } {
  // The command name may hold spaces; the fields after ") " are fixed.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { user: Number(fields[11]) / TICKS, system: Number(fields[12]) / TICKS }; // utime, stime
}

/**
 * Drops FILE from the page cache (posix_fadvise DONTNEED, through dd), so a
 * program starts as it would after a reboot. A binary just written by the
 * build sits in the page cache in large folios, and each page fault then maps
 * a whole folio: the same binary showed ~57 MiB of RssFile straight after the
 * build and ~40 MiB once read back from disk (kernel 6.18, ext4).
 */
function dropFromPageCache(file: string): void {
  execFileSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}

/** The GLIBC_TUNABLES the agent's systemd unit sets, so the bench runs what the unit runs. */
function unitGlibcTunables(): string {
  const unit = readFileSync(join(root, "deploy", "systemd", "netmap-agent.service"), "utf8");
  const tunables = /^Environment=GLIBC_TUNABLES=(\S+)$/m.exec(unit)?.[1];
  if (!tunables) throw new Error("deploy/systemd/netmap-agent.service sets no GLIBC_TUNABLES");
  return tunables;
}

function which(command: string): string {
  try {
    return execFileSync("sh", ["-c", `command -v "$0"`, command], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`${command} not found: apt-get install prometheus-node-exporter (or set BENCH_NODE_EXPORTER to its path)`);
  }
}

function memory(pid: number): { rss: number; peak: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { rss: kB("VmRSS"), peak: kB("VmHWM"), anon: kB("RssAnon"), file: kB("RssFile") };
}

const MiB = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

execFileSync(process.execPath, [join(root, "agent", "build.ts"), "x64"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const binary = join(root, "dist", "netmap-agent-linux-x64");
dropFromPageCache(binary);
dropFromPageCache(NODE_EXPORTER);

interface Measured {
  label: string;
  pid: number;
  count: () => Promise<number>;
  count0: number;
  cpu0: { user: number; system: number };
}

const nats = await startNatsServer();
const spoolDirs: string[] = [];
const children: ChildProcess[] = [];
let dockerd: TestDockerd | undefined;
try {
  if (CONTAINERS > 0) {
    dockerd = await startDockerd();
    for (let i = 0; i < CONTAINERS; i++) {
      await dockerd.api("POST", `/containers/create?name=bench${i}`, { Image: BUSYBOX_IMAGE, Cmd: ["/bin/sleep", "100000"] });
      await dockerd.api("POST", `/containers/bench${i}/start`);
    }
  }
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });
  const storedFor = async (agentId: string) =>
    (await jsm.streams.info(REPORTS_STREAM, { subjects_filter: REPORT_SUBJECTS })).state.subjects?.[`netmap.v1.report.${agentId}`] ?? 0;

  const exporterPort = await freePort();
  const exporter = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`], { stdio: "ignore" });
  children.push(exporter);
  await waitForPort(exporterPort);
  let scrapes = 0;
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${exporterPort}/metrics`);
    scrapes++;
    return (await response.text()).length;
  };

  const agents = [
    { label: "netmap-agent", agentId: "bench-plain", env: {} },
    { label: "netmap-agent, its unit's GLIBC_TUNABLES", agentId: "bench-unit", env: { GLIBC_TUNABLES: unitGlibcTunables() } },
  ].map(({ label, agentId, env }) => {
    const spoolDir = mkdtempSync(join(tmpdir(), "netmap-bench-agent-"));
    spoolDirs.push(spoolDir);
    const child = spawn(binary, ["--nats", nats.url, "--interval", `${INTERVAL}s`, "--spool-dir", spoolDir, "--agent-id", agentId], {
      stdio: "ignore",
      env: { PATH: "/usr/bin:/bin", NETMAP_LOG_LEVEL: "warn", ...(dockerd && { NETMAP_CONTAINERS: dockerd.socket }), ...env },
    });
    children.push(child);
    return { label, pid: child.pid!, count: () => storedFor(agentId) };
  });

  // Warm-up: each agent's first cycle and a first scrape.
  const scrapeBytes = await scrape();
  for (const agent of agents) while ((await agent.count()) < 1) await sleep(50);

  const measured: Measured[] = [
    ...(await Promise.all(agents.map(async (agent) => ({ ...agent, count0: await agent.count(), cpu0: cpuSeconds(agent.pid) })))),
    { label: "prometheus-node-exporter", pid: exporter.pid!, count: async () => scrapes, count0: scrapes, cpu0: cpuSeconds(exporter.pid!) },
  ];
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    const started = Date.now();
    await scrape();
    await sleep(Math.max(0, INTERVAL * 1000 - (Date.now() - started)));
  }
  const rows = await Promise.all(
    measured.map(async (m) => {
      const cpu1 = cpuSeconds(m.pid);
      const count = (await m.count()) - m.count0;
      const user = (cpu1.user - m.cpu0.user) / count;
      const system = (cpu1.system - m.cpu0.system) / count;
      return { label: m.label, count, perCycle: user + system, user, system, memory: memory(m.pid) };
    }),
  );
  const version = execFileSync(NODE_EXPORTER, ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  await nc.close();

  const exporterRow = rows.at(-1)!;
  const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  process.stdout.write(
    [
      `interval ${INTERVAL}s for ${SECONDS}s; agents ${rows.slice(0, -1).map((r) => r.count).join(" and ")} cycles, node_exporter ${exporterRow.count} scrapes (${(scrapeBytes / 1024).toFixed(0)} KiB each); ${version}`,
      ``,
      `| | CPU per cycle / scrape (user / system) | ratio to node_exporter | RSS at end | peak RSS | RSS anon / file |`,
      `|---|---|---|---|---|---|`,
      ...rows.map(
        (r) =>
          `| ${r.label} | ${ms(r.perCycle)} (${ms(r.user)} / ${ms(r.system)}) | CPU ${(r.perCycle / exporterRow.perCycle).toFixed(2)}, RSS ${(r.memory.rss / exporterRow.memory.rss).toFixed(2)} | ${MiB(r.memory.rss)} (${MB(r.memory.rss)}) | ${MiB(r.memory.peak)} | ${MiB(r.memory.anon)} / ${MiB(r.memory.file)} |`,
      ),
      ``,
    ].join("\n"),
  );
} finally {
  for (const child of children) child.kill("SIGTERM");
  // Removed first: stopping dockerd stops each at its 10 s grace (sleep ignores SIGTERM as pid 1),
  // and a loaded machine went past dockerd.stop()'s 15 s, leaving the containers and the data root's mount.
  for (let i = 0; i < CONTAINERS && dockerd; i++) await dockerd.api("DELETE", `/containers/bench${i}?force=true`);
  await dockerd?.stop();
  await nats.close();
  for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
}
