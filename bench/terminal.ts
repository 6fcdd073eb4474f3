// npm run bench:terminal — the web terminal through two bastions (real sshd in network
// namespaces, test/helpers/netns.ts) with `netmap serve` as its own process: the keystroke
// round trip (a character sent on the WebSocket until its echo comes back, `cat` running in
// the target's pty) p50/p99 over 200 keystrokes, and the collector's resident memory per open
// session with 50 sessions open. Reference in the same run: the same 200 keystrokes through
// the same chain with OpenSSH (`ssh -tt` with the ssh_config `netmap ssh` writes).
// Needs root (network namespaces). Not a test.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTopologyFile } from "../collector/src/topology/file.ts";
import { routeTo } from "../collector/src/topology/routes.ts";
import { sshInvocation } from "../collector/src/topology/ssh.ts";
import { createSshChain } from "../test/helpers/netns.ts";
import { freePort, startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { runProgram } from "../test/helpers/run.ts";
import { eventually } from "../test/helpers/wait.ts";

const KEYSTROKES = Number(process.env.BENCH_KEYSTROKES ?? 200);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50);
const MAIN = new URL("../collector/src/main.ts", import.meta.url).pathname;
const TOKEN = "bench-terminal-token";

const chain = await createSshChain();
const nats = await startNatsServer();
const database = await createTestDatabase();
const dir = mkdtempSync(join(tmpdir(), "netmap-bench-terminal-"));
const knownHosts = join(dir, "known_hosts");
writeFileSync(join(dir, "netmap.yaml"), `ssh:\n  agent: ${chain.authSocket}\n  known_hosts: ${knownHosts}\nterminal:\n  sessions_per_user: ${SESSIONS + 10}\n`);
const [httpPort, grpcPort] = [await freePort(), await freePort()];
const base = `http://127.0.0.1:${httpPort}`;
let collector: ChildProcess | undefined;
try {
  collector = spawn(process.execPath, [MAIN, "serve", "--config", join(dir, "netmap.yaml")], {
    env: { ...process.env, NETMAP_NATS_URL: nats.url, NETMAP_DATABASE_URL: database.url, NETMAP_HTTP_ADDR: `127.0.0.1:${httpPort}`, NETMAP_GRPC_ADDR: `127.0.0.1:${grpcPort}`, NETMAP_TOKEN: TOKEN, NETMAP_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await eventually(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, "the collector to answer", 60_000);
  const topologyFile = join(dir, "topology.yaml");
  writeFileSync(topologyFile, chain.topologyYaml);
  const imported = await runProgram(process.execPath, [MAIN, "import", topologyFile], { env: { PATH: process.env.PATH!, HOME: dir, NETMAP_URL: `127.0.0.1:${grpcPort}`, NETMAP_TOKEN: TOKEN } });
  if (imported.code !== 0) throw new Error(imported.stderr);

  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${collector!.pid}/status`, "utf8"))![1]) * 1024;

  // ---- keystroke round trip, web terminal ----
  const first = await openSession();
  await first.typeAndWait("cat > /dev/null\r", "cat > /dev/null\r\n");
  const web = await roundTrips((c) => first.typeAndWait(c, c));
  first.close();

  // ---- the same through OpenSSH, the reference ----
  const hops = routeTo(parseTopologyFile(chain.topologyYaml, "topology.yaml"), "target");
  const invocation = sshInvocation(hops, ["cat", ">", "/dev/null"], { knownHostsFile: knownHosts, extraOptions: ["-tt", "-o", "BatchMode=yes"] });
  writeFileSync(join(dir, "ssh_config"), invocation.configText);
  const ssh = spawn("ssh", invocation.args(join(dir, "ssh_config")), { env: { PATH: process.env.PATH!, HOME: dir, SSH_AUTH_SOCK: chain.authSocket }, stdio: ["pipe", "pipe", "inherit"] });
  let sshOut = "";
  let sshWaiter: (() => void) | undefined;
  ssh.stdout!.on("data", (chunk: Buffer) => {
    sshOut += chunk.toString();
    sshWaiter?.();
  });
  // Ready once the pty answers: its echo of a first character.
  ssh.stdin!.write("r");
  await eventually(() => sshOut.includes("r"), "OpenSSH's session to echo", 30_000);
  const reference = await roundTrips(
    (c) =>
      new Promise<void>((resolve) => {
        const seen = sshOut.length;
        sshWaiter = () => sshOut.slice(seen).includes(c) && ((sshWaiter = undefined), resolve());
        ssh.stdin!.write(c);
      }),
  );
  ssh.kill();

  // ---- memory per open session ----
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const before = rss();
  const open = [];
  for (let i = 0; i < SESSIONS; i++) open.push(await openSession());
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const after = rss();
  for (const s of open) s.close();

  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms`;
  console.log(`keystroke round trip, ${KEYSTROKES} keystrokes through bastion1 → bastion2 → target:`);
  console.log(`  web terminal (WebSocket → collector → ssh2 ×3 hops): ${fmt(web)}`);
  console.log(`  reference, OpenSSH ssh -tt with the same chain (ProxyJump ×2): ${fmt(reference)}`);
  console.log(`collector resident memory: ${(before / 2 ** 20).toFixed(1)} MiB before, ${(after / 2 ** 20).toFixed(1)} MiB with ${SESSIONS} sessions open: ${((after - before) / SESSIONS / 2 ** 20).toFixed(2)} MiB per session`);
} finally {
  collector?.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await database.drop();
  await nats.close();
  await chain.close();
}

async function roundTrips(once: (char: string) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const char = String.fromCharCode(97 + (i % 26));
    const started = performance.now();
    await once(char);
    times.push(performance.now() - started);
  }
  return times;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A terminal session as the console opens one: a ticket, then the WebSocket. */
async function openSession(): Promise<{ typeAndWait(text: string, echo: string): Promise<void>; close(): void }> {
  const response = await fetch(`${base}/api/v1/terminal/target/ticket`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
  const { ticket, protocol } = (await response.json()) as { ticket: string; protocol: string };
  const socket = new WebSocket(`ws://127.0.0.1:${httpPort}/api/v1/terminal/target?cols=200&rows=50`, [protocol, `ticket.${ticket}`]);
  socket.binaryType = "arraybuffer";
  const decoder = new TextDecoder();
  let output = "";
  let waiter: (() => void) | undefined;
  let ready = false;
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      const message = JSON.parse(event.data) as { type: string; message?: string };
      if (message.type === "ready") ready = true;
      if (message.type === "error") throw new Error(message.message);
      return;
    }
    output += decoder.decode(event.data as ArrayBuffer, { stream: true });
    waiter?.();
  };
  await eventually(() => ready, "a session to open", 60_000);
  const encoder = new TextEncoder();
  return {
    typeAndWait: (text, echo) =>
      new Promise<void>((resolve) => {
        const seen = output.length;
        waiter = () => {
          if (output.slice(seen).includes(echo)) {
            waiter = undefined;
            resolve();
          }
        };
        socket.send(encoder.encode(text));
      }),
    close: () => socket.close(),
  };
}
