// Finding and running the programs the dev scripts rely on (nats-server,
// initdb, apt-get, ...), with their output kept for error messages.
import { spawn, type SpawnOptions } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The first executable called `name` on PATH, then in `extraDirs`; undefined if none. */
export function findExecutable(name: string, extraDirs: string[] = [], pathVariable = process.env.PATH ?? ""): string | undefined {
  for (const dir of [...pathVariable.split(delimiter).filter(Boolean), ...extraDirs]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, stdin closed, stdout and stderr captured together. */
export function runCommand(command: string, args: string[], options: SpawnOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

/** Like runCommand, but a non-zero exit is an error that quotes the command's output. */
export async function runChecked(command: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const { code, output } = await runCommand(command, args, options);
  if (code !== 0) throw new Error(`${[command, ...args].join(" ")} failed (exit ${code}):\n${output.trimEnd()}`);
  return output;
}

/** Runs a command with its output shown to the user as it comes; rejects on a non-zero exit. */
export function runVisible(command: string, args: string[], options: SpawnOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${[command, ...args].join(" ")} failed (exit ${code})`))));
  });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Installs Debian packages; only meaningful as root. */
export async function aptInstall(packages: string[], say: (line: string) => void): Promise<void> {
  say(`installing ${packages.join(", ")} with apt-get (running as root)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await runVisible("apt-get", ["update"], { env });
  await runVisible("apt-get", ["install", "-y", "--no-install-recommends", ...packages], { env });
}
