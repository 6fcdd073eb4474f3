// npm run bench:upgrade — `netmap agent upgrade --all` of a fleet over NATS, beside a plain
// restart of the same fleet in the same run (the floor of any upgrade that restarts agents).
//
// BENCH_AGENTS agents (default 20) on this machine, each with its own install directory and
// spool, against a private nats-server. With BENCH_SEA=1 they are the single binary: two are
// built (agent/build.ts, x64), from copies of the source whose package.json say the old and the
// new version. Otherwise "the binary" is a wrapper script that runs node on a tree of the agent's
// source (as in test/integration/agent-upgrade.test.ts), the new release's wrapper padded to
// BENCH_RELEASE_MIB (default 104, the single binary's size in issue 22) behind its `exec` line,
// so every agent fetches, hashes and writes as many bytes as for the real binary.
// The report interval is BENCH_INTERVAL (default 5s).
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { parseDurationSeconds } from "../lib/settings.ts";
import { decodeReport } from "../proto/src/codec.ts";
import { REPORTS_STREAM, reportSubject } from "../proto/src/subjects.ts";
import { DEFAULT_STREAM_LIMITS, ensureStream, reportStreamConfig } from "../collector/src/nats/streams.ts";
import { loadReleaseKey } from "../collector/src/rollout/release-key.ts";
import { startAgentProcess, stopAgent, type RunningAgent } from "../test/helpers/agent-process.ts";
import { startNatsServer } from "../test/helpers/nats-server.ts";
import { runProgram } from "../test/helpers/run.ts";

const root = resolve(import.meta.dirname, "..");
const AGENTS = Number(process.env.BENCH_AGENTS ?? 20);
const RELEASE_MIB = Number(process.env.BENCH_RELEASE_MIB ?? 104);
const INTERVAL = process.env.BENCH_INTERVAL ?? "5s";
if (!parseDurationSeconds(INTERVAL)) throw new Error(`BENCH_INTERVAL: a duration like 5s, not ${INTERVAL}`);
const OLD = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
const NEW = `${OLD.split(/[-+]/)[0]!.replace(/\d+$/, (patch) => String(Number(patch) + 1))}+bench`;
const SEA = process.env.BENCH_SEA === "1";

const say = (line: string) => process.stdout.write(`bench:upgrade: ${line}\n`);
const seconds = (since: number) => (performance.now() - since) / 1000;

const dir = mkdtempSync(join(tmpdir(), "netmap-bench-upgrade-"));
const nats = await startNatsServer();
const nc = await connect({ servers: nats.url });
const agents = new Map<string, RunningAgent>();
try {
  await ensureStream(nc, reportStreamConfig(DEFAULT_STREAM_LIMITS.reports));
  const jsm = await jetstreamManager(nc);
  const key = loadReleaseKey(join(dir, "release.key"), {});
  const config = join(dir, "netmap.yaml");
  writeFileSync(config, `nats:\n  url: ${nats.url}\nrelease_key_file: ${join(dir, "release.key")}\n`);

  const wrapper = (path: string, tree: string, padMiB = 0) => {
    const script = `#!/bin/sh\nNETMAP_AGENT_BINARY="$0" exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(tree, "agent", "src", "main.ts"))} "$@"\n`;
    writeFileSync(path, Buffer.concat([Buffer.from(script), Buffer.alloc(padMiB * 1024 ** 2, "#")]));
    chmodSync(path, 0o755);
    return path;
  };
  /** A copy of the agent's source (and its build) whose package.json says `version`. */
  const tree = (name: string, version: string) => {
    const at = join(dir, name);
    for (const part of ["agent", "proto", "lib"]) cpSync(join(root, part), join(at, part), { recursive: true });
    writeFileSync(join(at, "package.json"), JSON.stringify({ ...JSON.parse(readFileSync(join(root, "package.json"), "utf8")), version }));
    symlinkSync(join(root, "node_modules"), join(at, "node_modules"));
    return at;
  };
  /** The single binary built from `at`. */
  const sea = (at: string) => {
    execFileSync(process.execPath, [join(at, "agent", "build.ts"), "x64"], { cwd: at, stdio: ["ignore", "ignore", "inherit"] });
    return join(at, "dist", "netmap-agent-linux-x64");
  };
  const newTree = tree("tree-new", NEW);
  const oldBinary = SEA ? sea(tree("tree-old", OLD)) : wrapper(join(dir, "netmap-agent-old"), root);
  const newBinary = SEA ? sea(newTree) : wrapper(join(dir, "netmap-agent-new"), newTree, RELEASE_MIB);
  const releaseMiB = readFileSync(newBinary).length / 1024 ** 2;
  say(`${SEA ? "single binaries" : "wrapper scripts"}: the release is ${releaseMiB.toFixed(1)} MiB`);

  const ids = Array.from({ length: AGENTS }, (_, i) => `bench${String(i).padStart(3, "0")}`);
  const start = (id: string) => {
    const home = join(dir, "hosts", id);
    agents.set(id, startAgentProcess(join(home, "netmap-agent"), ["--nats", nats.url, "--interval", INTERVAL, "--agent-id", id, "--spool-dir", join(home, "spool"), "--release-key", key.publicKey], {
      env: { PATH: process.env.PATH!, NETMAP_LOG_LEVEL: "info", NETMAP_CONTAINERS: "off" },
    }));
  };
  const latest = async (id: string) => {
    const m = await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: reportSubject(id) }).catch(() => null);
    return m ? { seq: m.seq, version: decodeReport(m.data).agentVersion } : undefined;
  };
  /** Waits until every agent's newest report is newer than `after` and names `version`. */
  const allReport = async (version: string, after: Map<string, number>, timeoutS = 600) => {
    const deadline = performance.now() + timeoutS * 1000;
    for (const id of ids) {
      for (;;) {
        const last = await latest(id);
        if (last && last.seq > (after.get(id) ?? 0) && last.version === version) break;
        if (performance.now() > deadline) throw new Error(`${id} did not report ${version} in ${timeoutS}s: ${agents.get(id)?.stderr().slice(-500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const sequences = async () => new Map(await Promise.all(ids.map(async (id) => [id, (await latest(id))?.seq ?? 0] as const)));

  for (const id of ids) {
    mkdirSync(join(dir, "hosts", id), { recursive: true });
    // The installed binary is only read: one file linked into every install directory.
    linkSync(oldBinary, join(dir, "hosts", id, "netmap-agent"));
    start(id);
  }
  let t = performance.now();
  await allReport(OLD, new Map());
  say(`${AGENTS} agents started and reporting in ${seconds(t).toFixed(1)} s`);

  // Reference: the same fleet restarted (SIGTERM, start again), until every agent reported again.
  const beforeRestart = await sequences();
  t = performance.now();
  await Promise.all(ids.map((id) => stopAgent(agents.get(id)!)));
  for (const id of ids) start(id);
  await allReport(OLD, beforeRestart);
  const restart = seconds(t);
  say(`reference: plain restart of the fleet ${restart.toFixed(1)} s`);

  const beforeUpgrade = await sequences();
  t = performance.now();
  const run = await runProgram(process.execPath, [join(root, "collector", "src", "main.ts"), "agent", "upgrade", "--all", "--canary", "1", "--binary", newBinary, "--config", config, "--timeout", "10m"], {
    env: { PATH: process.env.PATH!, HOME: dir },
    timeoutMs: 1_200_000,
  });
  const upgrade = seconds(t);
  if (run.code !== 0) throw new Error(`netmap agent upgrade exited with ${run.code}:\n${run.stdout}\n${run.stderr}`);
  await allReport(NEW, beforeUpgrade);
  const summary = run.stdout.trim().split("\n").find((line) => line.startsWith("upgrade to")) ?? "";
  say(summary);
  const rollout = Number(/\(([\d.]+) s\)$/.exec(summary)?.[1]);

  // Each agent's own steps, from its log: fetching (direct get, sha256, write) and the trial run.
  const steps = ids.flatMap((id) =>
    agents.get(id)!.stderr().split("\n").filter((line) => line.includes('"release fetched, checked and tried"')).map((line) => JSON.parse(line) as { fetchSeconds: number; trialSeconds: number }),
  );
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const fetchMedian = median(steps.map((s) => s.fetchSeconds));
  const trialMedian = median(steps.map((s) => s.trialSeconds));

  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const cores = execFileSync("nproc", { encoding: "utf8" }).trim();
  process.stdout.write(`
| what | time |
|---|---|
| ${AGENTS} agents (${SEA ? "single binary" : "from source"}), release ${releaseMiB.toFixed(1)} MiB: \`netmap agent upgrade --all --canary 1\`, command to exit | ${upgrade.toFixed(1)} s |
| of which canary and rest, from the first command to the last new-version report | ${rollout.toFixed(1)} s |
| per agent, median: fetching the release (direct get, sha256, write) | ${fetchMedian.toFixed(1)} s |
| per agent, median: trying it (\`--version\`, \`--once\`) | ${trialMedian.toFixed(1)} s |
| reference, same run: plain restart of the ${AGENTS} agents until each reported | ${restart.toFixed(1)} s |

(${cores} cores, load average ${load} at the end)
`);
} finally {
  await Promise.all([...agents.values()].map(stopAgent));
  await nc.close();
  await nats.close();
  rmSync(dir, { recursive: true, force: true });
}
