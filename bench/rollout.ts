// npm run bench:rollout — `netmap agent install --all` to a fleet behind two bastions
// (test/helpers/rollout-lab.ts: BENCH_TARGETS targets, 20 by default, behind bastion2 behind
// bastion1, the link to bastion1 limited to BENCH_WAN_RATE, 100mbit, with tc tbf; each host its
// own sshd and filesystem), as a person runs it: the CLI with --topology. Measures the first
// rollout and the re-run that sends nothing, checks every host's binary by its sha256, and, as
// the reference in the same run, one raw copy of the binary over the same link (what the old
// install sent per host). The compressed copies are made first and timed apart: once per build.
// Needs root (network and mount namespaces). Not a test.
import { execFile, execFileSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import { AgentBuilds } from "../collector/src/rollout/artefacts.ts";
import { DEFAULT_DIST_DIR } from "../collector/src/rollout/install.ts";
import { createRolloutLab } from "../test/helpers/rollout-lab.ts";

const TARGETS = Number(process.env.BENCH_TARGETS ?? 20);
const WAN_RATE = process.env.BENCH_WAN_RATE ?? "100mbit";
const ROOT = new URL("../", import.meta.url).pathname;
const run = promisify(execFile);

if (!existsSync(join(DEFAULT_DIST_DIR, "netmap-agent-linux-x64"))) await run(process.execPath, [join(ROOT, "agent", "build.ts"), "x64"], { cwd: ROOT });
const builds = new AgentBuilds(DEFAULT_DIST_DIR);
const build = await builds.get("x64");
let started = performance.now();
const [xz, gzip] = [await build.packed("xz"), await build.packed("gzip")];
const packSeconds = (performance.now() - started) / 1000;
console.log(`binary ${mib(build.binary.size)} MiB; xz ${mib(xz.size)} MiB, gzip ${mib(gzip.size)} MiB; compressing (once per build, cached in dist/.compressed) ${packSeconds.toFixed(1)} s`);

const lab = await createRolloutLab({ targets: TARGETS, wanRate: WAN_RATE });
try {
  const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/root", SSH_AUTH_SOCK: lab.authSocket, NETMAP_KNOWN_HOSTS: lab.knownHostsFile };
  const hosts = lab.hosts.length;

  // Reference: the raw binary once over the WAN link to bastion1, as the old install sent it to every host.
  started = performance.now();
  execFileSync("ssh", ["-o", "StrictHostKeyChecking=no", "-o", `UserKnownHostsFile=${join(lab.dir, "reference_known_hosts")}`, `root@${lab.hosts[0]!.address}`, "cat > /dev/null"], {
    input: readFileSync(build.binary.path),
    env,
    maxBuffer: 1 << 20,
  });
  const reference = (performance.now() - started) / 1000;
  console.log(`reference: the raw binary once over the ${WAN_RATE} link: ${reference.toFixed(1)} s (× ${hosts} hosts = ${(reference * hosts).toFixed(0)} s)`);

  const install = async (what: string) => {
    const at = performance.now();
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, "collector", "src", "main.ts"), "agent", "install", "--all", "--topology", lab.topologyFile, "--prefix", lab.prefix, "--nats", "nats://10.0.0.1:4222", "--json"],
      { env, maxBuffer: 16 << 20 },
    );
    const seconds = (performance.now() - at) / 1000;
    const summary = JSON.parse(stdout) as { installed: number; already_there: number; failed: number; hosts: { bytes_sent?: number }[] };
    const sent = summary.hosts.reduce((sum, h) => sum + (h.bytes_sent ?? 0), 0);
    console.log(`${what}: ${hosts} hosts in ${seconds.toFixed(1)} s (installed ${summary.installed}, already there ${summary.already_there}, failed ${summary.failed}; ${mib(sent)} MiB sent through the chains besides staging)`);
    for (const line of stderr.split("\n").filter((l) => /^(connect|stage|upload|configure) /.test(l))) console.log(`  ${line}`);
    if (summary.failed) throw new Error(`${summary.failed} hosts failed:\n${stdout}`);
    return seconds;
  };
  await install("first rollout");
  for (const host of lab.hosts) {
    const hash = await sha256(join(lab.rootOf(host.name), "usr", "local", "bin", "netmap-agent"));
    if (hash !== build.binary.sha256) throw new Error(`${host.name}: installed binary has sha256 ${hash}, expected ${build.binary.sha256}`);
  }
  console.log(`every host's binary has the build's sha256`);
  await install("re-run");
} finally {
  await lab.close();
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path).on("error", reject).on("data", (c) => hash.update(c)).on("end", () => resolve(hash.digest("hex")));
  });
}
