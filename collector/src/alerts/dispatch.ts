// Hands alert transitions to every configured notifier, without holding up
// ingest: deliveries run in the background, each attempt logged to the
// database. Firing alerts are re-sent to Alertmanager every minute, as
// Prometheus does, or Alertmanager would resolve them on its own; on the same
// tick the Watchdog heartbeat goes to every notifier (rules/watchdog.ts).
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import type { Alert, Transition } from "./engine.ts";
import { openAlerts, recordDeliveryAttempt } from "./repository.ts";
import { activeSilences, markFiring, mutedFingerprints } from "./silence-repository.ts";
import { INHIBITED_BY } from "./rules/topology.ts";
import { silencedBy } from "./silences.ts";
import { watchdogAlert } from "./rules/watchdog.ts";
import { RESEND_INTERVAL_SECONDS, sendToAlertmanager } from "./notifiers/alertmanager.ts";
import { transitionDeliveryId, type DeliveryAttempt, type DeliveryResult } from "./notifiers/delivery.ts";
import { sendWebhook, webhookPayload } from "./notifiers/webhook.ts";

export type NotifierConfig =
  | { name: string; type: "webhook"; url: string; secret: string | null }
  | { name: string; type: "alertmanager"; url: string };

export class AlertDispatcher {
  readonly #notifiers: readonly NotifierConfig[];
  readonly #externalURL: string;
  readonly #db: Db;
  readonly #log: Logger;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  readonly #resendSeconds: number;
  readonly #sendsWatchdog: () => boolean;
  readonly #watchdog: Alert;
  #resendTimer: NodeJS.Timeout | undefined;
  #silencing: Promise<unknown> = Promise.resolve();

  constructor(options: {
    notifiers: readonly NotifierConfig[];
    externalURL: string;
    db: Db;
    log: Logger;
    /** Whether this collector sends the Watchdog now (it is on and this one runs the absence check); never when absent. */
    sendsWatchdog?: () => boolean;
    /** Tests shorten the minute. */
    resendIntervalSeconds?: number;
  }) {
    this.#notifiers = options.notifiers;
    this.#externalURL = options.externalURL;
    this.#db = options.db;
    this.#log = options.log;
    this.#sendsWatchdog = options.sendsWatchdog ?? (() => false);
    this.#resendSeconds = options.resendIntervalSeconds ?? RESEND_INTERVAL_SECONDS;
    this.#watchdog = watchdogAlert(new Date());
  }

  /** Starts the re-send tick: firing alerts to the alertmanager notifiers, the Watchdog to all. */
  start(): void {
    if (!this.#notifiers.length) return;
    this.#resendTimer = setInterval(() => void this.#resendFiring(), this.#resendSeconds * 1000);
    this.#resendTimer.unref();
  }

  /**
   * Sends the transitions that no silence mutes, in order. A firing alert matched by an
   * active silence is not sent, nor is its resolve (nor a resolve a silence matches now).
   */
  notify(transitions: Transition[]): Promise<void> {
    const work = this.#silencing.then(async () => {
      let alerts = transitions.map((t) => t.alert);
      try {
        alerts = await this.#unsilenced(transitions);
      } catch (error) {
        this.#log.warn({ err: error }, "cannot check silences; notifying anyway");
      }
      if (alerts.length) for (const notifier of this.#notifiers) this.#send(notifier, alerts, transitionDeliveryId(notifier.name, alerts));
    });
    this.#silencing = work;
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
    // Resolves once the notifiers have them (their deliveries and retries go on in the background).
    return work;
  }

  async #unsilenced(transitions: Transition[]): Promise<Alert[]> {
    const now = new Date();
    const silences = await activeSilences(this.#db);
    // An alert the topology explains (rules/topology.ts) is muted as a silenced one is: shown, not paged.
    const silenced = (alert: Alert) => alert.annotations[INHIBITED_BY] !== undefined || silencedBy(silences, alert, now).length > 0;
    const fired = transitions.filter((t) => t.to === "firing").map((t) => ({ fingerprint: t.alert.fingerprint, muted: silenced(t.alert) }));
    await markFiring(this.#db, fired);
    const mutedFiring = new Set(fired.filter((f) => f.muted).map((f) => f.fingerprint));
    const mutedResolve = await mutedFingerprints(this.#db, transitions.filter((t) => t.to === "resolved").map((t) => t.alert.fingerprint));
    const kept = transitions.filter((t) => (t.to === "firing" ? !mutedFiring.has(t.alert.fingerprint) : !mutedResolve.has(t.alert.fingerprint) && !silenced(t.alert)));
    if (kept.length < transitions.length) this.#log.info({ silenced: transitions.length - kept.length }, "silenced or inhibited alert notifications not sent");
    return kept.map((t) => t.alert);
  }

  /** Stops retrying (pending backoffs end at once) and waits for attempts under way. */
  async close(): Promise<void> {
    clearInterval(this.#resendTimer);
    this.#abort.abort();
    await this.#silencing.catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
  }

  async #resendFiring(): Promise<void> {
    try {
      const silences = await activeSilences(this.#db);
      const now = new Date();
      const firing = (await openAlerts(this.#db)).filter((a) => a.state === "firing" && !a.muted && !silencedBy(silences, a, now).length);
      // Only after PostgreSQL answered: a collector that cannot read its alerts stops the heartbeat.
      const watchdog = this.#sendsWatchdog() ? [this.#watchdog] : [];
      for (const notifier of this.#notifiers) {
        const alerts = notifier.type === "alertmanager" ? [...firing, ...watchdog] : watchdog;
        if (alerts.length) this.#send(notifier, alerts);
      }
    } catch (error) {
      this.#log.warn({ err: error }, "cannot re-send firing alerts");
    }
  }

  /** Transitions carry an id derived from them; a re-send of what is firing, and the heartbeat, a new one each time. */
  #send(notifier: NotifierConfig, alerts: Alert[], deliveryId?: string): void {
    const fingerprints = alerts.map((a) => a.fingerprint);
    const onAttempt = (attempt: DeliveryAttempt) => {
      const log = attempt.delivered ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log);
      log({ notifier: notifier.name, delivery: attempt.deliveryId, attempt: attempt.attempt, status: attempt.status, error: attempt.error, final: attempt.final }, attempt.delivered ? "alert notification delivered" : "alert notification failed");
      recordDeliveryAttempt(this.#db, attempt, fingerprints).catch((error: unknown) => this.#log.warn({ err: error }, "cannot record a delivery attempt"));
    };
    const options = { onAttempt, signal: this.#abort.signal, deliveryId };
    const delivery: Promise<DeliveryResult> =
      notifier.type === "webhook"
        ? sendWebhook(notifier, webhookPayload(notifier.name, alerts, this.#externalURL), options)
        : sendToAlertmanager(notifier, alerts, this.#externalURL, options);
    const tracked = delivery.catch((error: unknown) => this.#log.error({ err: error, notifier: notifier.name }, "alert delivery crashed"));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}
