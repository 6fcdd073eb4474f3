// The checks netmap.yaml gives this agent (`checks:` with a match, docs/configuration.md):
// asked of the collector on netmap.v1.checks.<agent> at start and every
// REFRESH_SECONDS, validated as agent.yaml's are, and run beside the agent's own
// (same name: the agent's own wins). No answer (no collector, no NATS, an old
// collector) keeps the checks the agent has; a bad answer is logged and kept out.
import type { Logger } from "pino";
import { decodeChecksReply, type CheckConfig } from "../../../proto/src/check-config.ts";
import { checksSubject } from "../../../proto/src/subjects.ts";
import type { CheckRunner } from "./runner.ts";

/** How often the agent asks again once answered; unanswered, every RETRY_SECONDS. */
export const REFRESH_SECONDS = 60;
export const RETRY_SECONDS = 5;
const REQUEST_TIMEOUT_MS = 5_000;

export interface RemoteChecksOptions {
  agentId: string;
  /** agent.yaml's checks: they win over the collector's of the same name. */
  own: readonly CheckConfig[];
  runner: CheckRunner;
  request: (subject: string, data: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  log: Logger;
  refreshSeconds?: number;
}

/** The agent's own checks, then the collector's whose names the agent does not use. */
export function mergeChecks(own: readonly CheckConfig[], remote: readonly CheckConfig[]): { checks: CheckConfig[]; shadowed: string[] } {
  const names = new Set(own.map((c) => c.name));
  return { checks: [...own, ...remote.filter((c) => !names.has(c.name))], shadowed: remote.filter((c) => names.has(c.name)).map((c) => c.name) };
}

/** Asks now and then on a timer until the returned stop() is called. */
export function followCollectorChecks(options: RemoteChecksOptions): () => void {
  const { agentId, own, runner, request, log } = options;
  const refreshMs = (options.refreshSeconds ?? REFRESH_SECONDS) * 1000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current = "[]";
  let lastProblem = "";

  const ask = async (): Promise<boolean> => {
    let reply: Uint8Array;
    try {
      reply = await request(checksSubject(agentId), new Uint8Array(), REQUEST_TIMEOUT_MS);
    } catch (error) {
      // No collector answering is an ordinary state (an agent started first, a collector restarting): debug only.
      log.debug({ err: error }, "no answer to the checks request; keeping the checks");
      return false;
    }
    let remote: CheckConfig[];
    try {
      remote = decodeChecksReply(reply, "the collector's checks");
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastProblem) log.warn({ err: message }, "the collector sent checks that are not valid; keeping the checks");
      lastProblem = message;
      return true;
    }
    lastProblem = "";
    const key = JSON.stringify(remote);
    if (key === current) return true;
    current = key;
    const { checks, shadowed } = mergeChecks(own, remote);
    if (shadowed.length) log.warn({ checks: shadowed }, "agent.yaml has checks of these names; the collector's are not run");
    log.info({ checks: remote.map((c) => c.name) }, "checks from the collector");
    await runner.update(checks);
    return true;
  };

  const loop = async () => {
    const answered = await ask().catch((error: unknown) => (log.error({ err: error }, "checks from the collector failed"), false));
    if (stopped) return;
    timer = setTimeout(() => void loop(), answered ? refreshMs : Math.min(refreshMs, RETRY_SECONDS * 1000));
    timer.unref();
  };
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
