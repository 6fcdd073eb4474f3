// The webhook notifier: Alertmanager's webhook payload (version "4"), so
// receivers written for Alertmanager work unchanged, signed with HMAC-SHA256.
//
// Signature: X-NetMap-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// with X-NetMap-Timestamp (Unix seconds) and X-NetMap-Delivery (a UUID, the same on every
// retry of one delivery and, for alert transitions, on a second send of the same transitions
// after a collector died: delivery.ts transitionDeliveryId; receivers can drop repeats).
// Receivers should refuse timestamps older than a few minutes (replay).
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Alert } from "../engine.ts";
import { deliver, type DeliveryResult, type SendOptions } from "./delivery.ts";

/** Alertmanager writes this for "no end yet". */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** The labels a notifier sees: the rule's as alertname, its severity, then the alert's own. */
export function alertLabels(alert: Alert): Record<string, string> {
  return { alertname: alert.rule, severity: alert.severity, ...alert.labels };
}

export function webhookPayload(receiver: string, alerts: Alert[], externalURL: string): WebhookPayload {
  const items: WebhookAlert[] = alerts.map((alert) => ({
    status: alert.state === "resolved" ? "resolved" : "firing",
    labels: alertLabels(alert),
    annotations: { ...alert.annotations },
    startsAt: (alert.startsAt ?? alert.activeSince).toISOString(),
    endsAt: alert.endsAt?.toISOString() ?? ZERO_TIME,
    generatorURL: new URL(`/#alert=${alert.fingerprint}`, externalURL).toString(),
    fingerprint: alert.fingerprint,
  }));
  const commonLabels = common(items.map((a) => a.labels));
  return {
    version: "4",
    groupKey: `{}:{alertname=${JSON.stringify(commonLabels.alertname ?? "")}}`,
    truncatedAlerts: 0,
    status: items.some((a) => a.status === "firing") ? "firing" : "resolved",
    receiver,
    groupLabels: commonLabels.alertname ? { alertname: commonLabels.alertname } : {},
    commonLabels,
    commonAnnotations: common(items.map((a) => a.annotations)),
    externalURL,
    alerts: items,
  };
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** For receivers (and tests): true when the signature matches and is fresh. */
export function verifySignature(secret: string, headers: { signature?: string; timestamp?: string }, body: string, now = Date.now(), toleranceSeconds = 300): boolean {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface WebhookNotifier {
  name: string;
  url: string;
  secret: string | null;
}

export function sendWebhook(
  notifier: WebhookNotifier,
  payload: WebhookPayload,
  options: SendOptions = {},
): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  return deliver({
    receiver: notifier.name,
    url: notifier.url,
    body,
    headers: (deliveryId) => {
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        "x-netmap-delivery": deliveryId,
        "x-netmap-timestamp": String(timestamp),
        ...(notifier.secret !== null && { "x-netmap-signature": sign(notifier.secret, timestamp, body) }),
      };
    },
    ...options,
  });
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (!maps.length) return {};
  const [first, ...rest] = maps;
  return Object.fromEntries(Object.entries(first!).filter(([k, v]) => rest.every((m) => m[k] === v)));
}
