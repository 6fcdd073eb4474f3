// The agent's monotonic clock. Not performance.now(): the global
// `performance` loads perf_hooks and ten modules behind it on first use,
// ~1 MiB resident for the agent's lifetime (npm run bench:agent).

/** Milliseconds since an arbitrary point, monotonic, sub-millisecond resolution. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
