// Shared rules of the fuzz suites (test/fuzz/, `npm run fuzz`): how many inputs a property
// sees, and what counts as a clean rejection. A parser given any input either returns or
// throws a NetMapError with a stable code; anything else (a TypeError, a RangeError, a hang)
// is a crash.
import assert from "node:assert/strict";
import fc from "fast-check";
import { NetMapError } from "../../lib/errors.ts";

/**
 * Inputs per property: FUZZ_RUNS, else a short run that keeps `npm test` within seconds.
 * `npm run fuzz` sets 100,000.
 */
export const FUZZ_RUNS = fuzzRuns(process.env.FUZZ_RUNS);

function fuzzRuns(value: string | undefined): number {
  if (value === undefined || value === "") return 300;
  const runs = Number(value);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS=${JSON.stringify(value)}: expected a positive whole number`);
  return runs;
}

/** fast-check parameters of every fuzz property; a failure prints its seed and path to replay it. */
export const fuzzParameters = (runs = FUZZ_RUNS): fc.Parameters<unknown> => ({ numRuns: runs, endOnFailure: true });

/**
 * Counts the rejections nobody handled, from now on in this process; a fuzz suite's last test
 * asserts the list is empty. (An uncaught exception already fails the run: node:test reports it.)
 */
export function unhandledRejections(): () => string[] {
  const reasons: string[] = [];
  process.on("unhandledRejection", (reason) => reasons.push((reason as Error)?.stack ?? String(reason)));
  return () => reasons.slice();
}

/** Coded errors carry an upper-case code (errors.ts tables); a bare Error or TypeError is a crash. */
export function assertCodedRejection(error: unknown, codes: readonly string[]): void {
  if (!(error instanceof NetMapError)) {
    throw new assert.AssertionError({ message: `crash: ${(error as Error)?.stack ?? String(error)}` });
  }
  assert.ok(codes.includes(error.code), `code ${error.code} is not one of ${codes.join(", ")}: ${error.message}`);
  assert.ok(error.message.length > 0, `${error.code} without a message`);
}

/** Runs the parser; returns its result, or undefined after checking the rejection is coded. */
export function parsedOrRejected<T>(parse: () => T, codes: readonly string[]): T | undefined {
  try {
    return parse();
  } catch (error) {
    assertCodedRejection(error, codes);
    return undefined;
  }
}

/**
 * Mutations of a real input, as a byte-level fuzzer makes them: a byte replaced, a range cut
 * out, a range repeated, a random chunk inserted, the input cut short.
 */
export function mutatedBytes(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(0, seed.length - 1) });
  const mutation = fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([i, b]) => (bytes: Uint8Array) => {
      const copy = bytes.slice();
      if (copy.length) copy[i % copy.length] = b;
      return copy;
    }),
    fc.tuple(at, at).map(([a, b]) => (bytes: Uint8Array) => concat(bytes.subarray(0, Math.min(a, b)), bytes.subarray(Math.max(a, b)))),
    fc.tuple(at, at, at).map(([a, b, to]) => (bytes: Uint8Array) =>
      concat(bytes.subarray(0, to), bytes.subarray(Math.min(a, b), Math.max(a, b)), bytes.subarray(to))),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([to, chunk]) => (bytes: Uint8Array) =>
      concat(bytes.subarray(0, to), chunk, bytes.subarray(to))),
    at.map((end) => (bytes: Uint8Array) => bytes.subarray(0, end)),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((steps) => steps.reduce((bytes, step) => step(bytes), seed));
}

/** A real text input mutated as bytes, read back as UTF-8 (invalid sequences become U+FFFD). */
export function mutatedText(seed: string): fc.Arbitrary<string> {
  return mutatedBytes(new TextEncoder().encode(seed)).map((bytes) => new TextDecoder().decode(bytes));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
