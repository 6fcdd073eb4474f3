// What every admin command shares: where it writes, and how its options are read.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.ts";

export interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const defaultOut: Out = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

/** The options and positionals of `netmap <command> args...`; an unknown or malformed option is a UsageError (exit 2). */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`netmap ${command}: ${(error as Error).message}`);
  }
}
