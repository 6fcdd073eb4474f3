// POSTing JSON to a receiver with retries: exponential backoff on network
// errors, timeouts, 429 and 5xx; none on other 4xx (the request itself is
// wrong, sending it again cannot help). Every attempt is reported to a log.
import { createHash, randomUUID } from "node:crypto";
import type { Alert } from "../engine.ts";

export interface DeliveryAttempt {
  deliveryId: string;
  receiver: string;
  attempt: number;
  at: Date;
  /** HTTP status, or null when no response came (refused, reset, timed out). */
  status: number | null;
  error: string | null;
  /** The last attempt, successful or given up. */
  final: boolean;
  delivered: boolean;
}

export interface DeliveryOptions {
  receiver: string;
  url: string;
  body: string;
  /** Headers for an attempt; called per attempt so signatures carry a fresh timestamp. */
  headers: (deliveryId: string) => Record<string, string>;
  timeoutMs?: number;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  onAttempt?: (attempt: DeliveryAttempt) => void;
  signal?: AbortSignal;
  /** The delivery's id (transitionDeliveryId); a random one when absent, as for a heartbeat. */
  deliveryId?: string;
}

/** What a notifier's caller may set of a delivery. */
export type SendOptions = Pick<DeliveryOptions, "onAttempt" | "maxAttempts" | "initialBackoffMs" | "timeoutMs" | "signal" | "deliveryId">;

export interface DeliveryResult {
  deliveryId: string;
  delivered: boolean;
  attempts: number;
  status: number | null;
}

/**
 * The id of the delivery of alert transitions to a receiver, derived from them (each alert's
 * fingerprint, state, start and end) in the form of a UUID (version 8): the same on a second
 * send of the same transitions by the collector that took over the outbox from one killed
 * between sending and deleting them, so a receiver that drops an X-NetMap-Delivery it has seen
 * pages once. An alert that fires again has a new start, so a new page never shares an id.
 */
export function transitionDeliveryId(receiver: string, alerts: readonly Pick<Alert, "fingerprint" | "state" | "activeSince" | "startsAt" | "endsAt">[]): string {
  const identity = alerts.map((a) => `${a.fingerprint} ${a.state} ${(a.startsAt ?? a.activeSince).toISOString()} ${a.endsAt?.toISOString() ?? ""}`);
  const h = createHash("sha256").update(`${receiver}\n${identity.join("\n")}`).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function deliver(options: DeliveryOptions): Promise<DeliveryResult> {
  // The same on every retry of this delivery.
  const deliveryId = options.deliveryId ?? randomUUID();
  const maxAttempts = options.maxAttempts ?? 8;
  let backoff = options.initialBackoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "netmap", ...options.headers(deliveryId) },
        body: options.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        redirect: "error",
      });
      status = response.status;
      await response.body?.cancel();
    } catch (cause) {
      error = describeFetchError(cause);
    }
    const delivered = status !== null && status >= 200 && status < 300;
    const retryable = status === null || status === 429 || status >= 500;
    const final = delivered || !retryable || attempt >= maxAttempts || options.signal?.aborted === true;
    options.onAttempt?.({ deliveryId, receiver: options.receiver, attempt, at: new Date(), status, error, final, delivered });
    if (final) return { deliveryId, delivered, attempts: attempt, status };
    await sleep(backoff, options.signal);
    backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5 * 60_000);
  }
}

function describeFetchError(cause: unknown): string {
  const error = cause as Error & { cause?: { code?: string; message?: string } };
  if (error.name === "TimeoutError") return "timed out";
  return error.cause?.code ?? error.cause?.message ?? error.message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
