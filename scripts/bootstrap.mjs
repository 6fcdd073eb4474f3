// Entry point for `npm start` / `npm test` on a fresh clone. It runs on whatever
// Node the system has (>= 18), so it is plain JavaScript: it installs the
// dependencies when they are missing or stale, then hands over to the real
// script on the project's own Node 24 (node_modules/.bin/node), which runs .ts.
//
//   node scripts/bootstrap.mjs start [args...]   -> scripts/start.ts
//   node scripts/bootstrap.mjs test [args...]    -> scripts/test.ts
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const SCRIPTS = { start: "scripts/start.ts", test: "scripts/test.ts" };

function main(argv) {
  const [name, ...args] = argv;
  const script = SCRIPTS[name];
  if (!script) {
    process.stderr.write(`usage: node scripts/bootstrap.mjs ${Object.keys(SCRIPTS).join("|")} [args...]\n`);
    process.exit(2);
  }
  const staleness = dependencyStaleness();
  if (staleness) installDependencies(staleness);
  runOnProjectNode(script, args);
}

/** Why node_modules needs `npm ci`, or undefined when it is up to date. */
function dependencyStaleness() {
  const nodeModules = join(root, "node_modules");
  if (!existsSync(nodeModules)) return "node_modules is missing";
  if (!existsSync(join(nodeModules, ".bin", "node"))) return "node_modules/.bin/node is missing";
  // npm writes node_modules/.package-lock.json after every install.
  const installed = join(nodeModules, ".package-lock.json");
  const installedAt = statSync(existsSync(installed) ? installed : nodeModules).mtimeMs;
  if (statSync(join(root, "package-lock.json")).mtimeMs > installedAt) return "package-lock.json is newer than node_modules";
  return undefined;
}

function installDependencies(reason) {
  process.stderr.write(`netmap: ${reason}; installing dependencies with npm ci (about a minute)...\n`);
  // The engines field asks for Node 24, which npm ci itself is about to install:
  // the "unsupported engine" warning under the system Node is expected, so warnings are hidden.
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root, stdio: "inherit" });
  if (result.error) fail(`could not run npm ci: ${result.error.message} (is npm installed?)`);
  if (result.status !== 0) fail(`npm ci failed with exit code ${result.status}`);
}

function runOnProjectNode(script, args) {
  const node = join(root, "node_modules", ".bin", "node");
  const env = { ...process.env, PATH: [join(root, "node_modules", ".bin"), process.env.PATH].filter(Boolean).join(delimiter) };
  const child = spawn(node, [join(root, script), ...args], { cwd: root, stdio: "inherit", env });
  // Ctrl-C reaches the child through the terminal's process group; the child decides
  // how to shut down, and this process just waits for it. A SIGTERM sent to this
  // process alone is passed on.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  process.on("SIGHUP", () => child.kill("SIGHUP"));
  // npm exits on SIGTERM without passing it on; when it goes, this process is
  // re-parented, and stops the child as if it had received the signal itself.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && child.kill("SIGTERM"), 1000).unref();
  child.on("error", (error) => fail(`could not run ${node}: ${error.message}`));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (signalNumbers[signal] ?? 1) : 1)));
}

const signalNumbers = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function fail(message) {
  process.stderr.write(`netmap: ${message}\n`);
  process.exit(1);
}

main(process.argv.slice(2));
