// Keeps the agent's resident memory flat between cycles.
//
// V8 collects its old generation when it reaches a limit sized for
// applications, several MiB above what the agent keeps alive; the agent
// promotes a few KiB of garbage per cycle, so its resident memory climbed
// ~6 MiB over minutes and fell back at each major collection (a 100 ms soak:
// 59 → 64 → 59 MiB). After a cycle, with the agent idle until the next one,
// a major collection is cheap (~7 MiB of live heap) and is run once the heap
// has grown by SLACK_BYTES since the last one: ~15 ms of CPU every ~300
// cycles. Only where V8 exposes gc() (the single binary runs with
// --expose-gc); running from source, this does nothing.

const SLACK_BYTES = 1024 * 1024;

type Gc = (options: { type: "major"; execution: "sync" }) => void;

export function createIdleCollector(slackBytes = SLACK_BYTES, gc = (globalThis as { gc?: Gc }).gc): () => boolean {
  const heapUsed = () => process.memoryUsage().heapUsed;
  let baseline = heapUsed();
  return () => {
    if (!gc || heapUsed() - baseline < slackBytes) return false;
    gc({ type: "major", execution: "sync" });
    baseline = heapUsed();
    return true;
  };
}
