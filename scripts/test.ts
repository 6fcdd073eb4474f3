// `npm test`: everything CI checks, in order, stopping at the first failure:
//   1. proto: buf lint, and proto/gen regenerated into a temp dir equals the committed one
//   2. types: tsc -p . and tsc -p web (the console, with DOM types)
//   3. test programs: what the tests run as real peers (Graphviz, Prometheus, OpenSSH, ...),
//      installed with apt-get when run as root, else named with the apt-get line to run
//   4. web: the console bundled into web/dist (scripts/build-web.ts)
//   5. unit: node --test test/unit/**/*.test.ts test/fuzz/**/*.test.ts
//   6. integration: node --test --test-concurrency=1 test/integration/** test/e2e/** (real NATS and PostgreSQL)
//   7. faults: test/faults/** (collectors and NATS nodes killed, PostgreSQL and NATS cut, agent clocks off, under load from real agents; about 5 minutes)
//
// `npm test -- FILE...` runs only those test files; other arguments starting
// with `--` (e.g. --test-name-pattern=route) go to every node --test run.
import { spawn } from "node:child_process";
import { globSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { buildWeb } from "./build-web.ts";
import { aptInstall, isRoot } from "./lib/commands.ts";
import { missingTestPrograms, packagesOf } from "./lib/test-programs.ts";
import { diffTrees } from "./lib/tree-diff.ts";
import { probePostgres } from "./services/postgres.ts";

const root = resolve(import.meta.dirname, "..");
const INTEGRATION_POSTGRES_URL = process.env.NETMAP_TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
// test/fuzz runs a short fuzz (FUZZ_RUNS, default 300 inputs a property); `npm run fuzz` the long one.
const UNIT_GLOBS = ["test/unit/**/*.test.ts", "test/fuzz/**/*.test.ts"];
const INTEGRATION_GLOBS = ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"];
const FAULT_GLOBS = ["test/faults/**/*.test.ts"];

interface Stage {
  name: string;
  run(): Promise<boolean>;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs a program with the output shown; true when it exits 0. */
function run(command: string, args: string[], cwd = root): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", (error) => {
      say(`could not run ${command}: ${error.message}`);
      resolve(false);
    });
    child.once("close", (code) => resolve(code === 0));
  });
}

function testFiles(globs: string[]): string[] {
  return globs.flatMap((pattern) => globSync(pattern, { cwd: root })).sort();
}

function nodeTest(files: string[], options: string[], extra: string[] = []): Promise<boolean> {
  return run(process.execPath, ["--test", ...extra, ...options, ...files]);
}

async function protoStage(): Promise<boolean> {
  const buf = join(root, "node_modules", ".bin", "buf");
  if (!(await run(buf, ["lint"]))) {
    say("proto: buf lint found problems (above)");
    return false;
  }
  const out = mkdtempSync(join(tmpdir(), "netmap-proto-"));
  try {
    // -o prefixes buf.gen.yaml's `out: proto/gen`, so the committed tree is untouched.
    if (!(await run(buf, ["generate", "-o", out]))) return false;
    const drift = diffTrees(join(root, "proto", "gen"), join(out, "proto", "gen"));
    if (drift.length === 0) {
      say("proto: proto/gen matches what buf generate makes from proto/netmap");
      return true;
    }
    say("proto: proto/gen is out of date with proto/netmap; run `npm run proto` and commit the result. Drifted files:");
    const explain = { missing: "not committed, buf generates it", extra: "committed, buf no longer generates it", changed: "differs from what buf generates" };
    for (const { path, change } of drift) say(`  proto/gen/${path}: ${explain[change]}`);
    return false;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Every program the tests run (scripts/lib/test-programs.ts): as root, apt-get installs the
 * missing ones, as the README promises a fresh Debian machine; otherwise the message names
 * the exact apt-get line.
 */
async function testPrograms(): Promise<boolean> {
  const missing = missingTestPrograms();
  if (missing.length === 0) return true;
  const packages = packagesOf(missing);
  if (isRoot()) {
    try {
      await aptInstall(packages, say);
    } catch (error) {
      say(`test programs: ${(error as Error).message}`);
      return false;
    }
    const still = missingTestPrograms();
    if (still.length === 0) return true;
    say(`test programs: still missing after apt-get: ${still.map((p) => p.program).join(", ")}`);
    return false;
  }
  say("test programs: the tests run these as real peers, and they are not installed:");
  for (const p of missing) say(`  ${p.program.padEnd(24)} (${p.pkg}): ${p.why}`);
  say(`Install them as root:\n  apt-get install --no-install-recommends ${packages.join(" ")}\nor run npm test as root, which does it.`);
  return false;
}

async function integrationPrerequisites(): Promise<boolean> {
  let ok = true;
  const url = new URL(INTEGRATION_POSTGRES_URL);
  if ((await probePostgres(INTEGRATION_POSTGRES_URL)) !== "postgres") {
    say(
      `integration: no PostgreSQL answers at ${url.hostname}:${url.port || 5432}; the tests need the machine's server there. Start it:\n` +
        "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start     (Debian, as root)\n" +
        "or point NETMAP_TEST_ADMIN_DATABASE_URL at a server where the user may CREATE DATABASE.",
    );
    ok = false;
  }
  return ok;
}

function testStage(name: string, globs: string[], options: string[], extra: string[] = [], needsServices = false): Stage {
  return {
    name,
    run: async () => {
      const files = testFiles(globs);
      if (files.length === 0) {
        say(`${name}: no test files match ${globs.join(" ")}; skipped`);
        return true;
      }
      if (needsServices && !(await integrationPrerequisites())) return false;
      return nodeTest(files, options, extra);
    },
  };
}

/** Positional arguments are test files; the others are options for node --test. */
function splitArgs(args: string[]): { files: string[]; options: string[] } {
  const files = args.filter((a) => !a.startsWith("-"));
  const options = args.filter((a) => a.startsWith("-"));
  return { files, options };
}

const typesStage: Stage = {
  name: "types",
  run: async () => (await run(join(root, "node_modules", ".bin", "tsc"), ["-p", "."])) && run(join(root, "node_modules", ".bin", "tsc"), ["-p", "web"]),
};

// The end-to-end tests drive the console the collector serves from web/dist.
const webStage: Stage = {
  name: "web",
  run: () => buildWeb().then(() => true, (error: Error) => (say(`web: the console does not build: ${error.message}`), false)),
};

function stagesFor(args: string[]): Stage[] {
  const { files, options } = splitArgs(args);
  if (files.length > 0) {
    const absolute = files.map((f) => resolve(process.env.INIT_CWD ?? process.cwd(), f));
    const integration = absolute.some((f) => /[/\\]test[/\\](integration|e2e|faults)[/\\]/.test(f));
    return [
      ...(integration ? [webStage] : []),
      {
        name: "selected tests",
        run: async () => {
          if (!(await testPrograms())) return false;
          if (integration && !(await integrationPrerequisites())) return false;
          return nodeTest(absolute.map((f) => relative(root, f)), options, integration ? ["--test-concurrency=1"] : []);
        },
      },
    ];
  }
  return [
    { name: "proto", run: protoStage },
    typesStage,
    { name: "test programs", run: testPrograms },
    webStage,
    testStage("unit", UNIT_GLOBS, options),
    testStage("integration", INTEGRATION_GLOBS, options, ["--test-concurrency=1"], true),
    testStage("faults", FAULT_GLOBS, options, ["--test-concurrency=1", "--test-timeout=900000"], true),
  ];
}

async function main(args: string[]): Promise<number> {
  const results: string[] = [];
  for (const stage of stagesFor(args)) {
    say(`\n=== ${stage.name} ===`);
    const started = Date.now();
    const ok = await stage.run();
    results.push(`${ok ? "ok  " : "FAIL"} ${stage.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (!ok) {
      say(`\n${results.join("\n")}\nnpm test: the ${stage.name} stage failed`);
      return 1;
    }
  }
  say(`\n${results.join("\n")}\nnpm test: all stages passed`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
