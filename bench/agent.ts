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
const NODE_EXPORTER = process.env.BENCH_NODE_EXPORTER ?? "prometheus-node-exporter";
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function cpuSeconds(pid: number): number {
  // The command name may hold spaces; the fields after ") " are fixed.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime
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

  const agent = spawn(binary, ["--nats", nats.url, "--interval", `${INTERVAL}s`, "--agent-id", "bench-agent", "--spool-dir", spoolDir], {
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
  const agentCpu = cpuSeconds(agent.pid!) - agentCpu0;
  const exporterCpu = cpuSeconds(exporter.pid!) - exporterCpu0;
  const agentMemory = memory(agent.pid!);
  const exporterMemory = memory(exporter.pid!);
  const version = execFileSync(NODE_EXPORTER, ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  await nc.close();

  const perCycle = agentCpu / cycles;
  const perScrape = exporterCpu / scrapes;
  process.stdout.write(
    [
      `interval ${INTERVAL}s for ${SECONDS}s; agent ${cycles} cycles, node_exporter ${scrapes} scrapes (${(scrapeBytes / 1024).toFixed(0)} KiB each); ${version}`,
      ``,
      `| | CPU per cycle / scrape | RSS at end | peak RSS | RSS anon / file |`,
      `|---|---|---|---|---|`,
      `| netmap-agent (single binary) | ${ms(perCycle)} | ${MiB(agentMemory.rss)} | ${MiB(agentMemory.peak)} | ${MiB(agentMemory.anon)} / ${MiB(agentMemory.file)} |`,
      `| prometheus-node-exporter | ${ms(perScrape)} | ${MiB(exporterMemory.rss)} | ${MiB(exporterMemory.peak)} | ${MiB(exporterMemory.anon)} / ${MiB(exporterMemory.file)} |`,
      `| ratio agent / node_exporter | ${(perCycle / perScrape).toFixed(2)} | ${(agentMemory.rss / exporterMemory.rss).toFixed(2)} | ${(agentMemory.peak / exporterMemory.peak).toFixed(2)} | ${(agentMemory.anon / exporterMemory.anon).toFixed(2)} / ${(agentMemory.file / exporterMemory.file).toFixed(2)} |`,
      ``,
    ].join("\n"),
  );
} finally {
  for (const child of children) child.kill("SIGTERM");
  await nats.close();
  rmSync(spoolDir, { recursive: true, force: true });
}
