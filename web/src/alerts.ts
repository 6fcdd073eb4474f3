// The alerts view: open alerts with ack / un-ack, "silence like this" and their transitions,
// the silences with expire, and the notifiers' delivery log.
import type { AlertHistoryResponse, AlertJson, DeliveriesResponse, MatcherJson, SilenceJson, SilencesResponse } from "../../collector/src/http/api-types.ts";
import { getJson, sendJson } from "./api.ts";
import { byId, h, muted, table } from "./dom.ts";
import { DASH, formatAge, formatTimestamp, isNumber, sortAlerts } from "./format.ts";
import { changed, state } from "./state.ts";
import { remember, remembered } from "./storage.ts";

const extra = { silences: null as SilenceJson[] | null, deliveries: null as DeliveriesResponse["deliveries"] | null, error: null as string | null };
/** The alerts whose transitions are shown, and what was fetched for each (an error as text). */
const histories = new Map<string, AlertHistoryResponse | string | null>();

/** The matchers a silence made from an alert starts with: its rule and every label, all exact. */
export function matchersFor(alert: AlertJson): MatcherJson[] {
  return [{ name: "alertname", value: alert.rule, isRegex: false }, ...Object.entries(alert.labels).map(([name, value]) => ({ name, value, isRegex: false }))];
}

function actions(alert: AlertJson): HTMLElement {
  return h("td", { class: "actions" },
    alert.acknowledged
      ? h("button", { type: "button", "data-action": "unack", title: `Acknowledged by ${alert.acknowledged.by} ${formatTimestamp(alert.acknowledged.at)}` }, "Un-ack")
      : h("button", { type: "button", "data-action": "ack" }, "Ack"),
    " ",
    h("button", { type: "button", "data-action": "silence" }, "Silence…"),
    " ",
    h("button", { type: "button", "data-action": "history", "aria-expanded": histories.has(alert.fingerprint) ? "true" : "false" }, "History"));
}

/** The row under an alert listing its transitions, newest first. */
function historyRow(fingerprint: string): HTMLElement {
  const history = histories.get(fingerprint);
  const body = history === null || history === undefined ? muted("Loading…")
    : typeof history === "string" ? h("span", { class: "level-crit" }, history)
    : h("ol", { class: "transitions", "aria-label": "Transitions, newest first" }, history.transitions.map((t) =>
      h("li", null, h("time", { datetime: t.at }, formatTimestamp(t.at)), " ", t.from ? `${t.from} → ` : "", h("strong", { class: `alert-${t.to}` }, t.to), muted(` (value ${Number(t.value.toPrecision(4))})`))));
  return h("tr", { class: "alert-history", "data-history": fingerprint }, h("td", { colspan: 6 }, body));
}

function alertRow(alert: AlertJson): HTMLElement {
  const since = alert.startsAt ?? alert.activeSince;
  const labels = Object.entries(alert.labels).filter(([n]) => n !== "host").map(([n, v]) => `${n}=${v}`).join(" ");
  return h("tr", { class: `alert-row alert-${alert.state}${alert.acknowledged ? " is-acked" : ""}`, "data-fingerprint": alert.fingerprint },
    h("td", { class: "col-status" }, h("span", { class: `severity sev-${alert.severity}` }, h("span", { class: "dot", "aria-hidden": "true" }), alert.severity)),
    h("th", { scope: "row", class: "rule mono", title: labels || null }, alert.rule, alert.state === "pending" ? h("span", { class: "tag" }, "pending") : null,
      alert.acknowledged ? h("span", { class: "tag" }, `ack ${alert.acknowledged.by}`) : null),
    h("td", { class: "summary" }, alert.annotations.summary || muted(labels || DASH)),
    h("td", { class: "alert-host" }, isNumber(alert.hostId) ? h("a", { href: `#host=${alert.hostId}` }, alert.labels.host || `host ${alert.hostId}`) : alert.labels.host || muted(DASH)),
    h("td", { class: "num nowrap", title: formatTimestamp(since) }, formatAge((Date.now() - Date.parse(since)) / 1000)),
    actions(alert));
}

function silenceRow(s: SilenceJson): HTMLElement {
  const state = s.status?.state ?? "active";
  return h("tr", { "data-silence": s.id, class: `silence-${state}` },
    h("th", { scope: "row", class: "mono" }, s.matchers.map((m) => `${m.name}${m.isRegex ? "=~" : "="}"${m.value}"`).join(", ")),
    h("td", null, state), h("td", { class: "nowrap" }, formatTimestamp(s.endsAt)), h("td", null, s.createdBy), h("td", null, s.comment || muted(DASH)),
    h("td", { class: "actions" }, state === "expired" ? null : h("button", { type: "button", "data-action": "expire" }, "Expire")));
}

export function renderAlerts(): void {
  const count = state.alerts?.length ?? 0;
  const badge = byId("alert-count");
  badge.textContent = String(count);
  badge.classList.toggle("is-zero", count === 0);
  badge.classList.toggle("has-critical", (state.alerts ?? []).some((a) => a.state === "firing" && a.severity === "critical"));
  const error = byId("alerts-error");
  error.hidden = !state.alertsError && !extra.error;
  error.textContent = state.alertsError?.message ?? extra.error ?? "";
  if (byId("alerts-view").hidden) return;
  const rows = !state.alerts ? [] : sortAlerts(state.alerts).flatMap((alert) => histories.has(alert.fingerprint) ? [alertRow(alert), historyRow(alert.fingerprint)] : [alertRow(alert)]);
  byId("alert-list").replaceChildren(table("Open alerts", [["Severity", "col-status"], ["Rule"], ["Summary"], ["Host"], ["Since", "num"], ["Actions"]], rows,
    state.alerts ? "No open alerts — every rule is quiet." : "Loading alerts…"));
  byId("silence-list").replaceChildren(table("Silences", [["Matchers"], ["State"], ["Ends"], ["By"], ["Comment"], ["Actions"]], (extra.silences ?? []).map(silenceRow), "No silences."));
  byId("delivery-list").replaceChildren(table("Deliveries", [["At"], ["Receiver"], ["Attempt", "num"], ["Result"], ["Alerts", "num"]], (extra.deliveries ?? []).slice(0, 50).map((d) =>
    h("tr", null, h("td", { class: "nowrap" }, formatTimestamp(d.at)), h("th", { scope: "row" }, d.receiver), h("td", { class: "num" }, String(d.attempt)),
      h("td", { class: d.delivered ? "level-ok" : "level-crit" }, d.delivered ? `delivered (${d.status ?? DASH})` : `failed: ${d.error ?? d.status ?? "unknown"}${d.final ? " (gave up)" : ""}`),
      h("td", { class: "num" }, String(d.fingerprints.length)))), "No notifications sent yet."));
}

/** Silences and deliveries, fetched while the view is open. */
export async function refreshAlertExtras(): Promise<void> {
  if (byId("alerts-view").hidden) return;
  try {
    const [silences, deliveries] = await Promise.all([getJson<SilencesResponse>("/api/v1/silences"), getJson<DeliveriesResponse>("/api/v1/alerts/deliveries?limit=50")]);
    extra.silences = silences.silences;
    extra.deliveries = deliveries.deliveries;
    extra.error = null;
  } catch (err) {
    extra.error = `Could not load silences and deliveries: ${(err as Error).message}`;
  }
}

async function act(work: Promise<unknown>, refresh: () => Promise<void>): Promise<void> {
  try {
    await work;
    extra.error = null;
  } catch (err) {
    extra.error = (err as Error).message;
  }
  await refresh();
  await refreshAlertExtras();
  changed();
}

async function toggleHistory(fingerprint: string): Promise<void> {
  if (histories.has(fingerprint)) {
    histories.delete(fingerprint);
    return renderAlerts();
  }
  histories.set(fingerprint, null);
  renderAlerts();
  const history = await getJson<AlertHistoryResponse>(`/api/v1/alerts/${encodeURIComponent(fingerprint)}/history`).catch((err: Error) => err.message);
  if (histories.has(fingerprint)) histories.set(fingerprint, history);
  renderAlerts();
}

function openSilenceForm(alert: AlertJson): void {
  const form = byId<HTMLFormElement>("silence-form");
  byId("silence-what").textContent = `${alert.rule} on ${alert.labels.host ?? "any host"}`;
  byId<HTMLTextAreaElement>("silence-matchers").value = matchersFor(alert).map((m) => `${m.name}=${m.value}`).join("\n");
  byId<HTMLInputElement>("silence-comment").value = "";
  form.querySelector<HTMLElement>("[role=alert]")!.hidden = true;
  byId<HTMLDialogElement>("silence-dialog").showModal();
}

export function startAlerts(refresh: () => Promise<void>): void {
  byId("alerts-view").addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("button[data-action]");
    if (!button) return;
    const fingerprint = button.closest<HTMLElement>("[data-fingerprint]")?.dataset.fingerprint;
    const alert = state.alerts?.find((a) => a.fingerprint === fingerprint);
    const path = `/api/v1/alerts/${encodeURIComponent(fingerprint ?? "")}/ack`;
    button.disabled = true;
    if (button.dataset.action === "ack") void act(sendJson("POST", path, { by: byId<HTMLInputElement>("who").value || undefined }), refresh);
    else if (button.dataset.action === "unack") void act(sendJson("DELETE", path), refresh);
    else if (button.dataset.action === "silence" && alert) openSilenceForm(alert);
    else if (button.dataset.action === "history" && fingerprint) toggleHistory(fingerprint).finally(() => (button.disabled = false));
    else if (button.dataset.action === "expire") {
      const id = button.closest<HTMLElement>("[data-silence]")!.dataset.silence!;
      void act(sendJson("DELETE", `/api/v1/silences/${encodeURIComponent(id)}`), refresh);
    }
    if (button.dataset.action === "silence") button.disabled = false;
  });
  byId("silence-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = byId("silence-form").querySelector<HTMLElement>("[role=alert]")!;
    const matchers = byId<HTMLTextAreaElement>("silence-matchers").value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      const at = line.indexOf("=");
      return { name: line.slice(0, at).trim(), value: line.slice(at + 1).trim(), isRegex: false };
    });
    if (matchers.some((m) => !m.name)) {
      problem.hidden = false;
      problem.textContent = "Each line is name=value.";
      return;
    }
    const body = { matchers, durationSeconds: Number(byId<HTMLSelectElement>("silence-duration").value),
      comment: byId<HTMLInputElement>("silence-comment").value || undefined, createdBy: byId<HTMLInputElement>("who").value || undefined };
    sendJson("POST", "/api/v1/silences", body).then(
      () => {
        byId<HTMLDialogElement>("silence-dialog").close();
        void act(Promise.resolve(), refresh);
      },
      (err: Error) => {
        problem.hidden = false;
        problem.textContent = err.message;
      },
    );
  });
  byId("silence-cancel").addEventListener("click", () => byId<HTMLDialogElement>("silence-dialog").close());
  byId<HTMLInputElement>("who").value = remembered("netmap.who");
  byId("who").addEventListener("change", () => remember("netmap.who", byId<HTMLInputElement>("who").value));
}
