// How `netmap agent install` shows a rollout: a progress line per phase on stderr (redrawn in
// place on a terminal, once at the phase's end otherwise), a summary table at the end, or the
// same as one JSON document with --json.
import type { InstallOutcome } from "../rollout/install.ts";
import type { PhaseName, PhaseProgress } from "../rollout/phases.ts";
import { terminalSafe } from "../text/escape.ts";
import { formatTable } from "./command-line.ts";

const BAR_WIDTH = 24;
const REDRAW_MS = 100;
/** What each phase counts. */
const UNITS: Record<PhaseName, [string, string]> = {
  connect: ["host", "hosts"],
  compress: ["copy", "copies"],
  stage: ["site", "sites"],
  upload: ["host", "hosts"],
  configure: ["host", "hosts"],
};

export interface ProgressPrinter {
  phase(progress: PhaseProgress): void;
  /** Writes lines above the progress line (a terminal's live line is cleared and redrawn). */
  above(write: () => void): void;
}

/** `write` gets only NetMap's own text (phase names and numbers), so it may carry \r and ESC [K. */
export function progressPrinter(write: (text: string) => void, tty: boolean, now = () => performance.now()): ProgressPrinter {
  let live = "";
  let drawnAt = 0;
  let startedAt = now();
  return {
    phase(progress) {
      if (progress.done === 0 && progress.bytes === 0 && !progress.finished) startedAt = now();
      const line = formatPhase(progress, (now() - startedAt) / 1000);
      if (progress.finished) {
        write(`${tty ? "\r\x1b[K" : ""}${line}\n`);
        live = "";
      } else if (tty && (now() - drawnAt >= REDRAW_MS || !live)) {
        write(`\r\x1b[K${line}`);
        live = line;
        drawnAt = now();
      } else if (tty) {
        live = line;
      }
    },
    above(print) {
      if (tty && live) write("\r\x1b[K");
      print();
      if (tty && live) write(live);
    },
  };
}

/** `upload     [##########..............]  8/20 hosts  41.2/103.0 MiB  6.3 s` */
export function formatPhase(progress: PhaseProgress, seconds: number): string {
  const fraction = progress.totalBytes > 0 ? progress.bytes / progress.totalBytes : progress.total > 0 ? progress.done / progress.total : 1;
  const filled = Math.round(Math.min(1, fraction) * BAR_WIDTH);
  const [one, many] = UNITS[progress.phase];
  const bytes = progress.totalBytes > 0 || progress.bytes > 0 ? `  ${mib(progress.bytes)}/${mib(Math.max(progress.bytes, progress.totalBytes))} MiB` : "";
  return `${progress.phase.padEnd(9)}  [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]  ${progress.done}/${progress.total} ${progress.total === 1 ? one : many}${bytes}  ${seconds.toFixed(1)} s`;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** One row per host: what happened to the binary, the service, and the version or the reason it failed. */
export function formatSummary(outcomes: InstallOutcome[]): string {
  const rows = outcomes.map((o) =>
    o.status === "failed"
      ? [o.label, "failed", "", firstLine(o.message)]
      : [o.label, o.binary, o.status === "started" ? "started" : `not started (${o.reason})`, firstLine(o.version)],
  );
  const failed = outcomes.filter((o) => o.status === "failed").length;
  const already = outcomes.filter((o) => o.status !== "failed" && o.binary === "already there").length;
  const total = `summary: agent installed on ${outcomes.length - failed} of ${outcomes.length} host${outcomes.length === 1 ? "" : "s"} (${outcomes.length - failed - already} sent, ${already} already there), ${failed} failed\n`;
  const kept = outcomes.filter((o) => o.status !== "failed" && o.releaseKey === "kept").map((o) => `${terminalSafe(o.label)}: release key not written: agent.yaml kept, use --force-config\n`);
  return formatTable([["HOST", "BINARY", "SERVICE", "VERSION OR REASON"], ...rows]) + terminalSafe(total.trimEnd()) + "\n" + kept.join("");
}

/** The outcomes for scripts: {hosts: [...], installed, already_there, failed}. */
export function formatSummaryJson(outcomes: InstallOutcome[], interrupted: boolean): string {
  const hosts = outcomes.map((o) =>
    o.status === "failed"
      ? { host: o.label, result: "failed", error: o.message }
      : { host: o.label, result: o.binary, ...(o.sent && { sent_as: o.sent }), service: o.status, ...(o.status === "not-started" && { reason: o.reason }), version: o.version, bytes_sent: o.bytes, ...(o.releaseKey && { release_key: o.releaseKey }) },
  );
  const count = (result: string) => hosts.filter((h) => h.result === result).length;
  return `${JSON.stringify({ hosts, installed: count("installed"), already_there: count("already there"), failed: count("failed"), interrupted })}\n`;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}
