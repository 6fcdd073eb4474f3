// A netmap-agent started by a test (from source or the built binary), its log
// kept, stopped with SIGTERM as systemd stops it.
import { spawn, type ChildProcess } from "node:child_process";

export interface RunningAgent {
  child: ChildProcess;
  /** Everything it wrote on stderr (its JSON log lines) so far. */
  stderr: () => string;
  /** Its exit code; -1 when a signal killed it. */
  exited: Promise<number | null>;
}

export function startAgentProcess(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): RunningAgent {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "ignore", "pipe"], env: options.env });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, stderr: () => stderr, exited };
}

/** SIGTERM unless it has already exited; resolves with its exit code. */
export async function stopAgent(agent: RunningAgent): Promise<number | null> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill("SIGTERM");
  return agent.exited;
}
