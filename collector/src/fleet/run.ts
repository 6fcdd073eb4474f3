// `netmap run`: one command on many hosts, each through its own bastion chain with runSsh
// (topology/ssh.ts, so every hop is checked against NetMap's known_hosts), in parallel but at
// most `parallel` at a time behind each first hop (a bastion takes that many sessions at
// once, however many hosts stand behind it), each with a timeout. Nothing from the database
// reaches a shell: a host is named to ssh only by its alias in the generated ssh_config, and
// the command is the caller's own words, handed to ssh as its arguments (ssh joins them with
// spaces for the remote shell, exactly as `ssh HOST CMD...` does).
import { NetMapError } from "../errors.ts";
import type { Hop } from "../topology/model.ts";
import { runSsh, type SshOptions } from "../topology/ssh.ts";

export type RunStatus = "ok" | "failed" | "timeout" | "unreachable";

export interface RunTarget {
  /** CLIENT/SITE/NAME. */
  host: string;
  hops: Hop[];
  /** Why it has no route: reported as unreachable without running anything. */
  error: string;
}

export interface HostRun {
  host: string;
  status: RunStatus;
  /** The command's exit code; null when it did not end by itself (timeout, no route). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunProgress {
  done: number;
  total: number;
  running: number;
  counts: Record<RunStatus, number>;
}

/** Output kept per host and stream: the first 1 MiB. */
const MAX_OUTPUT = 1 << 20;

/** Runs command on every target; never rejects, each host's failure is its result. In the targets' order. */
export async function runOnHosts(
  targets: RunTarget[],
  command: string[],
  options: { ssh: Pick<SshOptions, "knownHostsFile" | "sshBinary">; timeoutMs: number; parallel: number; onProgress?: (progress: RunProgress) => void },
): Promise<HostRun[]> {
  const results: HostRun[] = new Array(targets.length);
  const progress: RunProgress = { done: 0, total: targets.length, running: 0, counts: { ok: 0, failed: 0, timeout: 0, unreachable: 0 } };
  const finish = (index: number, result: HostRun) => {
    results[index] = result;
    progress.done++;
    progress.counts[result.status]++;
    options.onProgress?.({ ...progress, counts: { ...progress.counts } });
  };
  // One queue per first hop: a bastion is never asked for more than `parallel` sessions at once.
  const queues = new Map<string, number[]>();
  targets.forEach((target, index) => {
    if (target.error || !target.hops.length) {
      finish(index, { host: target.host, status: "unreachable", exitCode: null, stdout: "", stderr: target.error || "no route", durationMs: 0 });
      return;
    }
    const first = target.hops[0]!;
    const key = `${first.user ?? ""}@${first.address}:${first.port}`;
    queues.set(key, [...(queues.get(key) ?? []), index]);
  });
  const runOne = async (index: number): Promise<HostRun> => {
    const target = targets[index]!;
    const started = Date.now();
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const result = await runSsh(target.hops, command, {
        ...options.ssh,
        // BatchMode: no prompt can hang a run; a host whose key is not pinned yet is learned (accept-new, the generated config).
        extraOptions: ["-o", "BatchMode=yes"],
        stdio: { stdin: "ignore", stdout: "pipe", stderr: "capture" },
        signal,
      });
      const base = { host: target.host, stdout: result.stdout.slice(0, MAX_OUTPUT), stderr: result.stderr.slice(0, MAX_OUTPUT), durationMs: Date.now() - started };
      if (result.aborted) return { ...base, status: "timeout", exitCode: null };
      // 255 is ssh's own failure (no connection, refused key, lost hop).
      if (result.exitCode === 255) return { ...base, status: "unreachable", exitCode: 255 };
      return { ...base, status: result.exitCode === 0 ? "ok" : "failed", exitCode: result.exitCode };
    } catch (error) {
      if (!(error instanceof NetMapError)) throw error;
      return { host: target.host, status: "unreachable", exitCode: null, stdout: "", stderr: error.message, durationMs: Date.now() - started };
    }
  };
  await Promise.all(
    [...queues.values()].map(async (indexes) => {
      let next = 0;
      const worker = async () => {
        while (next < indexes.length) {
          const index = indexes[next++]!;
          progress.running++;
          options.onProgress?.({ ...progress, counts: { ...progress.counts } });
          const result = await runOne(index);
          progress.running--;
          finish(index, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.parallel, indexes.length) }, worker));
    }),
  );
  return results;
}

/** Hosts whose status, exit code and output are identical, together, in the order they first appear. */
export interface RunGroup {
  hosts: string[];
  status: RunStatus;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function groupResults(results: HostRun[]): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const r of results) {
    const key = JSON.stringify([r.status, r.exitCode, r.stdout, r.stderr]);
    const group = groups.get(key);
    if (group) group.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], status: r.status, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
  }
  return [...groups.values()];
}

export function summarize(results: HostRun[]): string {
  const count = (status: RunStatus) => results.filter((r) => r.status === status).length;
  return `${count("ok")} ok, ${count("failed")} failed, ${count("timeout")} timed out, ${count("unreachable")} unreachable`;
}

/** How a group heads its output: the hosts and how the command ended there. */
export function describeGroup(group: RunGroup, timeoutMs: number): string {
  const how =
    group.status === "timeout" ? `timed out after ${timeoutMs / 1000} s`
    : group.status === "unreachable" ? `unreachable${group.exitCode === 255 ? " (ssh exit 255)" : ""}`
    : `exit ${group.exitCode}`;
  return `== ${group.hosts.join(", ")}: ${how}`;
}

/** The progress line: `[3/5] 2 ok, 1 failed, 0 timed out, 0 unreachable; 2 running`. */
export function progressLine(p: RunProgress): string {
  return `[${p.done}/${p.total}] ${p.counts.ok} ok, ${p.counts.failed} failed, ${p.counts.timeout} timed out, ${p.counts.unreachable} unreachable; ${p.running} running`;
}
