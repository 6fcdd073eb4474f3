#!/usr/bin/env node
// NetMap's alerts to a chat channel: every AlertEvent (firing and resolved) from NETMAP_EVENTS
// posted to a Slack- or Mattermost-style incoming webhook as {"text": "..."}.
//
//   NATS_USER=chatops NATS_PASSWORD=... node examples/alerts-to-chat.ts \
//     --nats nats://nats.example.internal:4222 --webhook https://hooks.slack.com/services/... \
//     [--durable chatops] [--from all|new] [--severity warning]
//
// The durable consumer remembers what was posted: stopped and started again, it posts what
// came meanwhile, once. A webhook that fails gets the event again 5 s later, and again.
import type { JsMsg } from "@nats-io/jetstream";
import { decodeAlertEvent } from "../proto/src/codec.ts";
import { ALERT_SEVERITIES, ALERT_SUBJECT_PREFIX } from "../proto/src/subjects.ts";
import type { AlertEvent } from "../proto/gen/netmap/v1/alert.ts";
import { chatText } from "../collector/src/text/escape.ts";
import { consumeEvents, parseOptions, untilStopped } from "./durable-events.ts";

const { durable, values } = parseOptions(process.argv.slice(2), ["webhook", "severity"], "chatops");
if (!values.webhook) throw new Error("--webhook URL: the chat's incoming webhook");
const webhook = new URL(values.webhook);
const least = values.severity ?? "warning";
if (!(ALERT_SEVERITIES as readonly string[]).includes(least)) throw new Error(`--severity: one of ${ALERT_SEVERITIES.join(", ")}`);
const rank = (severity: string) => (ALERT_SEVERITIES as readonly string[]).indexOf(severity);

/** One line a person reads; every value from NetMap (hostnames come from agents) escaped for the chat. */
function chatMessage(event: AlertEvent): string {
  const icon = event.state === "resolved" ? ":white_check_mark:" : event.severity === "critical" ? ":red_circle:" : ":warning:";
  const labels = Object.entries(event.labels).map(([k, v]) => `${chatText(k)}=${chatText(v)}`).join(" ");
  const summary = event.annotations.summary ?? "";
  return `${icon} ${chatText(event.state.toUpperCase())} ${chatText(event.rule)} (${chatText(event.severity)}) ${labels}: ${chatText(summary)} <${event.generatorUrl}|details>`;
}

async function post(msg: JsMsg): Promise<void> {
  const event = decodeAlertEvent(msg.data);
  if (rank(event.severity) < rank(least)) return;
  const response = await fetch(webhook, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: chatMessage(event) }), signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}

await consumeEvents(durable, `${ALERT_SUBJECT_PREFIX}.>`, post, untilStopped());
