// The programs `npm start` runs in the foreground (collector, agent): their
// output line by line with the program's name in front, and a clean stop.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export interface Child {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles when the process has exited, with how. */
  readonly exited: Promise<string>;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; labelWidth?: number }): Child {
  // Its own process group: a Ctrl-C in the terminal goes to the start script
  // only, which stops the children in order (agent before collector).
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const label = `${name.padEnd(options.labelWidth ?? name.length)} | `;
  prefixLines(child.stdout, label, process.stdout);
  prefixLines(child.stderr, label, process.stderr);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => {
      running = false;
      resolve(`could not start: ${error.message}`);
    });
    child.once("exit", (code, signal) => {
      running = false;
      resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
  return {
    name,
    pid: child.pid,
    exited,
    get running() {
      return running;
    },
    stop: async (graceMs = 10_000) => {
      if (!running) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Copies a stream line by line to `out`, each line led by `label`. */
export function prefixLines(stream: Readable, label: string, out: Writable): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on("line", (line) => out.write(`${label}${line}\n`));
}
