// Polling for tests that wait on another process: a collector storing a
// report, an agent spooling one, a server coming up.

/**
 * Polls probe every 100 ms until it returns a truthy value, and returns that;
 * after timeoutMs fails naming what it waited for (a function is called only
 * then, e.g. to add a log) and the probe's last error.
 */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string | (() => string), timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const described = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `what` for eventually(): the condition, then the last lines of a process's log. */
export function withLog(condition: string, log: () => string): () => string {
  return () => `${condition}; log:\n${log().split("\n").slice(-40).join("\n")}`;
}
