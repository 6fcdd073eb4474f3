// npm run bench:agent — what the agent costs a host, beside Debian's
// prometheus-node-exporter on the same machine in the same run.
//
// The single binary (built first) publishes to a private nats-server every
// BENCH_INTERVAL (default 1s) for BENCH_SECONDS (default 60); node_exporter
// (default collectors, on a free loopback port) is scraped at the same rate
// with fetch, and its response read in full. CPU is utime + stime from
// /proc/<pid>/stat over the measured window (the first cycle and scrape,
// which warm caches, are left out), divided by the cycles or scrapes in it.
// Memory is VmRSS at the end and VmHWM (the peak) from /proc/<pid>/status, and
// VmRSS split into RssAnon (heap, stacks: the process's own) and RssFile (pages
// of the executable and libraries: clean, shared with the page cache, dropped
// first under memory pressure, and varying by a few MiB with what the page
// cache holds).
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

const root = resolve(import.meta.dirname, "..");
const INTERVAL = parseDurationSeconds(process.env.BENCH_INTERVAL ?? "1s")!;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
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

const nats = await startNatsServer();
const spoolDir = mkdtempSync(join(tmpdir(), "netmap-bench-agent-"));
const children: ChildProcess[] = [];
try {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: REPORTS_STREAM, subjects: [REPORT_SUBJECTS] });
  const stored = async () => (await jsm.streams.info(REPORTS_STREAM)).state.messages;

  const exporterPort = await freePort();
  const exporter = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`], { stdio: "ignore" });
  children.push(exporter);
  await waitForPort(exporterPort);
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${exporterPort}/metrics`);
    return (await response.text()).length;
  };

  const agent = spawn(binary, ["--nats", nats.url, "--interval", `${INTERVAL}s`, "--spool-dir", spoolDir], {
    stdio: "ignore",
    env: { PATH: "/usr/bin:/bin", NETMAP_LOG_LEVEL: "warn" },
  });
  children.push(agent);

  // Warm-up: the agent's first cycle and a first scrape.
  const scrapeBytes = await scrape();
  while ((await stored()) < 1) await sleep(50);

  const agentCpu0 = cpuSeconds(agent.pid!);
  const exporterCpu0 = cpuSeconds(exporter.pid!);
  const cycles0 = await stored();
  let scrapes = 0;
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    const started = Date.now();
    await scrape();
    scrapes++;
    await sleep(Math.max(0, INTERVAL * 1000 - (Date.now() - started)));
  }
  const cycles = (await stored()) - cycles0;
  const agentCpu1 = cpuSeconds(agent.pid!);
  const exporterCpu1 = cpuSeconds(exporter.pid!);
  const agentCpu = { user: agentCpu1.user - agentCpu0.user, system: agentCpu1.system - agentCpu0.system };
  const exporterCpu = { user: exporterCpu1.user - exporterCpu0.user, system: exporterCpu1.system - exporterCpu0.system };
  const agentMemory = memory(agent.pid!);
  const exporterMemory = memory(exporter.pid!);
  const version = execFileSync(NODE_EXPORTER, ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  await nc.close();

  const perCycle = (agentCpu.user + agentCpu.system) / cycles;
  const perScrape = (exporterCpu.user + exporterCpu.system) / scrapes;
  const split = (cpu: { user: number; system: number }, count: number) => `${ms(cpu.user / count)} / ${ms(cpu.system / count)}`;
  process.stdout.write(
    [
      `interval ${INTERVAL}s for ${SECONDS}s; agent ${cycles} cycles, node_exporter ${scrapes} scrapes (${(scrapeBytes / 1024).toFixed(0)} KiB each); ${version}`,
      ``,
      `| | CPU per cycle / scrape | user / system | RSS at end | peak RSS | RSS anon / file |`,
      `|---|---|---|---|---|---|`,
      `| netmap-agent (single binary) | ${ms(perCycle)} | ${split(agentCpu, cycles)} | ${MiB(agentMemory.rss)} | ${MiB(agentMemory.peak)} | ${MiB(agentMemory.anon)} / ${MiB(agentMemory.file)} |`,
      `| prometheus-node-exporter | ${ms(perScrape)} | ${split(exporterCpu, scrapes)} | ${MiB(exporterMemory.rss)} | ${MiB(exporterMemory.peak)} | ${MiB(exporterMemory.anon)} / ${MiB(exporterMemory.file)} |`,
      `| ratio agent / node_exporter | ${(perCycle / perScrape).toFixed(2)} | | ${(agentMemory.rss / exporterMemory.rss).toFixed(2)} | ${(agentMemory.peak / exporterMemory.peak).toFixed(2)} | ${(agentMemory.anon / exporterMemory.anon).toFixed(2)} / ${(agentMemory.file / exporterMemory.file).toFixed(2)} |`,
      ``,
    ].join("\n"),
  );
} finally {
  for (const child of children) child.kill("SIGTERM");
  await nats.close();
  rmSync(spoolDir, { recursive: true, force: true });
}
