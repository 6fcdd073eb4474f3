import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { after, describe, test } from "node:test";
import type { Alert } from "../../collector/src/alerts/engine.ts";
import { fingerprint } from "../../collector/src/alerts/engine.ts";
import { sendToAlertmanager } from "../../collector/src/alerts/notifiers/alertmanager.ts";
import { transitionDeliveryId, type DeliveryAttempt } from "../../collector/src/alerts/notifiers/delivery.ts";
import { sendWebhook, verifySignature, webhookPayload, type WebhookPayload } from "../../collector/src/alerts/notifiers/webhook.ts";
import { startAlertmanager } from "../helpers/alertmanager.ts";
import { freePort } from "../helpers/nats-server.ts";

const SECRET = "s3cret-for-tests";
const EXTERNAL_URL = "http://127.0.0.1:7070/";

function firingAlert(mountpoint = "/srv"): Alert {
  const labels = { host: "web01", mountpoint };
  return {
    fingerprint: fingerprint("FilesystemAlmostFull", labels),
    rule: "FilesystemAlmostFull",
    severity: "warning",
    labels,
    annotations: { summary: `${mountpoint} on web01 is 91% full` },
    state: "firing",
    value: 91,
    activeSince: new Date("2026-11-23T10:00:00Z"),
    startsAt: new Date("2026-11-23T10:01:00Z"),
    endsAt: null,
  };
}

interface Received { headers: IncomingMessage["headers"]; body: string }

async function receiver(port: number, respond: (n: number) => number = () => 200): Promise<{ server: Server; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.writeHead(respond(received.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, received };
}

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

describe("webhook notifier", () => {
  test("posts Alertmanager's webhook payload with a valid signature, timestamp and delivery id", async () => {
    const port = await freePort();
    const { server, received } = await receiver(port);
    servers.push(server);
    const result = await sendWebhook({ name: "ops", url: `http://127.0.0.1:${port}/hook`, secret: SECRET }, webhookPayload("ops", [firingAlert()], EXTERNAL_URL));
    assert.equal(result.delivered, true);
    assert.equal(received.length, 1);
    const [{ headers, body }] = received as [Received];
    const payload = JSON.parse(body) as WebhookPayload;
    assert.equal(payload.version, "4");
    assert.equal(payload.status, "firing");
    assert.equal(payload.receiver, "ops");
    assert.deepEqual(payload.commonLabels, { alertname: "FilesystemAlmostFull", severity: "warning", host: "web01", mountpoint: "/srv" });
    assert.equal(payload.alerts[0]!.labels.mountpoint, "/srv");
    assert.equal(payload.alerts[0]!.startsAt, "2026-11-23T10:01:00.000Z");
    assert.equal(payload.alerts[0]!.endsAt, "0001-01-01T00:00:00Z");
    assert.match(payload.alerts[0]!.fingerprint, /^[0-9a-f]{16}$/);
    for (const key of ["groupKey", "groupLabels", "commonAnnotations", "externalURL", "truncatedAlerts"]) assert.ok(key in payload, key);
    assert.equal(headers["x-netmap-delivery"], result.deliveryId);
    const signed = { signature: String(headers["x-netmap-signature"]), timestamp: String(headers["x-netmap-timestamp"]) };
    assert.ok(verifySignature(SECRET, signed, body), "the signature verifies with the shared secret");
    assert.ok(!verifySignature("wrong-secret", signed, body));
    assert.ok(!verifySignature(SECRET, signed, `${body} `), "a changed body fails");
    assert.ok(!verifySignature(SECRET, signed, body, Date.now() + 3600_000), "an old timestamp fails");
  });

  test("a receiver that is down at first gets the delivery after retries, once, under one delivery id", async () => {
    const port = await freePort();
    const attempts: DeliveryAttempt[] = [];
    let started: Awaited<ReturnType<typeof receiver>> | undefined;
    setTimeout(async () => {
      started = await receiver(port);
      servers.push(started.server);
    }, 700);
    const result = await sendWebhook(
      { name: "late", url: `http://127.0.0.1:${port}/`, secret: SECRET },
      webhookPayload("late", [firingAlert()], EXTERNAL_URL),
      { initialBackoffMs: 200, onAttempt: (a) => attempts.push(a) },
    );
    assert.equal(result.delivered, true);
    assert.ok(result.attempts >= 2, `delivered on attempt ${result.attempts}`);
    assert.equal(attempts[0]!.error, "ECONNREFUSED");
    assert.ok(attempts.every((a) => a.deliveryId === result.deliveryId));
    assert.equal(started?.received.length, 1, "exactly one request reached the receiver");
    assert.equal(started?.received[0]!.headers["x-netmap-delivery"], result.deliveryId);
  });

  test("the same transitions sent again (the outbox's next holder after a kill) carry the same delivery id; others, and a heartbeat, another", async () => {
    const port = await freePort();
    const { server, received } = await receiver(port);
    servers.push(server);
    const notifier = { name: "ops", url: `http://127.0.0.1:${port}/hook`, secret: SECRET };
    const send = (alert: Alert, deliveryId?: string) => sendWebhook(notifier, webhookPayload("ops", [alert], EXTERNAL_URL), { deliveryId });
    const firing = firingAlert();
    const resolved: Alert = { ...firing, state: "resolved", endsAt: new Date("2026-11-23T10:09:00Z") };
    const first = await send(firing, transitionDeliveryId("ops", [firing]));
    const again = await send(firing, transitionDeliveryId("ops", [firingAlert()]));
    const resolve = await send(resolved, transitionDeliveryId("ops", [resolved]));
    const firesAgain = { ...firing, startsAt: new Date("2026-11-23T11:00:00Z") };
    const later = await send(firesAgain, transitionDeliveryId("ops", [firesAgain]));
    assert.deepEqual(received.map((r) => r.headers["x-netmap-delivery"]), [first.deliveryId, first.deliveryId, resolve.deliveryId, later.deliveryId]);
    assert.equal(again.deliveryId, first.deliveryId);
    assert.equal(new Set([first.deliveryId, resolve.deliveryId, later.deliveryId]).size, 3, "a resolve, and the same alert firing again, are new pages");
    assert.match(first.deliveryId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "a UUID, version 8");
    assert.notEqual(transitionDeliveryId("other", [firing]), first.deliveryId, "another receiver, another delivery");
    // The same body without a transition's id (a heartbeat, a re-send of what fires): a new id each time.
    const [beat1, beat2] = [await send(firing), await send(firing)];
    assert.notEqual(beat1.deliveryId, beat2.deliveryId);
  });

  test("retries a 5xx but not a 4xx", async () => {
    const port = await freePort();
    const { server, received } = await receiver(port, (n) => (n === 1 ? 503 : 200));
    servers.push(server);
    const retried = await sendWebhook({ name: "x", url: `http://127.0.0.1:${port}/`, secret: null }, webhookPayload("x", [firingAlert()], EXTERNAL_URL), { initialBackoffMs: 50 });
    assert.deepEqual([retried.delivered, retried.attempts, received.length], [true, 2, 2]);

    const port4 = await freePort();
    const rejecting = await receiver(port4, () => 400);
    servers.push(rejecting.server);
    const refused = await sendWebhook({ name: "y", url: `http://127.0.0.1:${port4}/`, secret: null }, webhookPayload("y", [firingAlert()], EXTERNAL_URL), { initialBackoffMs: 50 });
    assert.deepEqual([refused.delivered, refused.attempts, refused.status, rejecting.received.length], [false, 1, 400, 1]);
  });
});

describe("alertmanager notifier", () => {
  test("a real Alertmanager lists a firing alert with its labels, and drops it once resolved", async () => {
    const am = await startAlertmanager();
    try {
      const alert = firingAlert("/var/backups");
      const sent = await sendToAlertmanager({ name: "am", url: am.url }, [{ ...alert, startsAt: new Date() }], EXTERNAL_URL, { initialBackoffMs: 200 });
      assert.equal(sent.delivered, true);
      const listed = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
      assert.equal(listed.length, 1);
      assert.deepEqual(listed[0]!.labels, { alertname: "FilesystemAlmostFull", severity: "warning", host: "web01", mountpoint: "/var/backups" });
      assert.equal(listed[0]!.status.state, "active");

      const resolved: Alert = { ...alert, startsAt: new Date(Date.now() - 60_000), state: "resolved", endsAt: new Date() };
      assert.equal((await sendToAlertmanager({ name: "am", url: am.url }, [resolved], EXTERNAL_URL)).delivered, true);
      const after = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as unknown[];
      assert.equal(after.length, 0, "a resolved alert is no longer listed as active");
    } finally {
      await am.close();
    }
  });
});
