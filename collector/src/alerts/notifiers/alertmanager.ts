// The alertmanager notifier: posts to Alertmanager's /api/v2/alerts, as
// Prometheus does, so its routing, grouping, silences and e-mail apply.
// Alertmanager expects a firing alert to be sent again before its
// resolve_timeout (default 5m) or it resolves it by itself: callers re-send
// firing alerts every RESEND_INTERVAL. A resolved alert carries endsAt.
import type { Alert } from "../engine.ts";
import { deliver, type DeliveryResult, type SendOptions } from "./delivery.ts";
import { alertLabels } from "./webhook.ts";

export const RESEND_INTERVAL_SECONDS = 60;

export interface AlertmanagerNotifier {
  name: string;
  url: string;
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

export function postableAlerts(alerts: Alert[], externalURL: string): PostableAlert[] {
  return alerts.map((alert) => ({
    labels: alertLabels(alert),
    annotations: { ...alert.annotations },
    startsAt: (alert.startsAt ?? alert.activeSince).toISOString(),
    ...(alert.endsAt && { endsAt: alert.endsAt.toISOString() }),
    generatorURL: new URL(`/#alert=${alert.fingerprint}`, externalURL).toString(),
  }));
}

export function sendToAlertmanager(
  notifier: AlertmanagerNotifier,
  alerts: Alert[],
  externalURL: string,
  options: SendOptions = {},
): Promise<DeliveryResult> {
  return deliver({
    receiver: notifier.name,
    url: new URL("api/v2/alerts", notifier.url.endsWith("/") ? notifier.url : `${notifier.url}/`).toString(),
    body: JSON.stringify(postableAlerts(alerts, externalURL)),
    headers: () => ({}),
    ...options,
  });
}
