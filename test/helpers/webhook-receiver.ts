// A real HTTP receiver for the collector's `webhook` notifier: every page it is sent, in order.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookPayload } from "../../collector/src/alerts/notifiers/webhook.ts";

export interface WebhookReceiver {
  /** The notifier's url. */
  url: string;
  pages: WebhookPayload[];
  /** Each alert paged so far, as `rule:host-or-site:status`. */
  paged(): string[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const pages: WebhookPayload[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      pages.push(JSON.parse(body));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    pages,
    paged: () => pages.flatMap((p) => p.alerts.map((a) => `${a.labels.alertname}:${a.labels.host ?? a.labels.site}:${a.status}`)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
