// What every admin command shares: where it writes, how it lays out a table, and how its
// options are read.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { terminalSafe, terminalText } from "../text/escape.ts";

export interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

// Names in the output come from agents and Proxmox: nothing written here reaches the terminal
// with a control character it would act on, whichever printer forgot to escape a value.
export const defaultOut: Out = { stdout: (t) => process.stdout.write(terminalText(t)), stderr: (t) => process.stderr.write(terminalText(t)) };

/** Rows as aligned columns, the header first; every cell is one line, its controls escaped. */
export function formatTable(rows: string[][]): string {
  const cells = rows.map((row) => row.map(terminalSafe));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}

/** The options and positionals of `netmap <command> args...`; an unknown or malformed option is a UsageError (exit 2). */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`netmap ${command}: ${(error as Error).message}`);
  }
}
