// The phases of a rollout (connect, compress, stage, upload, configure): each runs a step for
// every item, a bounded number at a time per queue, and reports how far it is.

export type PhaseName = "connect" | "compress" | "stage" | "upload" | "configure";

/** Where a phase is: hosts (or, for stage, sites) done of all, and bytes sent through the chains. */
export interface PhaseProgress {
  phase: PhaseName;
  done: number;
  total: number;
  bytes: number;
  /** Of the whole phase, when known. */
  totalBytes: number;
  finished: boolean;
}

export interface PhaseCounter {
  done: number;
  addBytes(bytes: number): void;
  addTotalBytes(bytes: number): void;
}

/**
 * Runs `step` for each item, `options.parallel` at a time per key (a bastion), reporting the
 * phase's progress; a failing step is the item's failure (`fail`), the others go on. After an
 * interrupt nothing new starts.
 */
export async function runPhase<T>(
  name: PhaseName,
  items: T[],
  options: { parallel: number; signal?: AbortSignal },
  report: (progress: PhaseProgress) => void,
  fail: (item: T, error: unknown) => void,
  step: (item: T, progress: PhaseCounter, index: number) => Promise<void>,
  /** The item's queue (one per bastion) and the bytes it will send. */
  shape: (item: T, index: number) => { key: string; bytes: number },
): Promise<void> {
  if (!items.length) return;
  const shapes = items.map(shape);
  const state: PhaseProgress = { phase: name, done: 0, total: items.length, bytes: 0, totalBytes: shapes.reduce((sum, s) => sum + s.bytes, 0), finished: false };
  const counter: PhaseCounter = {
    get done() {
      return state.done;
    },
    set done(value) {
      state.done = value;
      report({ ...state });
    },
    addBytes(bytes) {
      state.bytes += bytes;
      report({ ...state });
    },
    addTotalBytes(bytes) {
      state.totalBytes += bytes;
    },
  };
  report({ ...state });
  const queues = new Map<string, number[]>();
  shapes.forEach((s, index) => queues.set(s.key, [...(queues.get(s.key) ?? []), index]));
  const worker = async (queue: number[]) => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      if (options.signal?.aborted) {
        fail(items[index]!, new Error("interrupted"));
        continue;
      }
      try {
        await step(items[index]!, counter, index);
      } catch (error) {
        fail(items[index]!, error);
        state.done++;
      }
    }
  };
  await Promise.all([...queues.values()].flatMap((queue) => Array.from({ length: Math.min(options.parallel, queue.length) }, () => worker(queue))));
  report({ ...state, finished: true });
}
