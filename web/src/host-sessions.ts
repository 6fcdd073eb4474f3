// The host page's terminal panel: recorded shell sessions on this host (GET /api/v1/sessions:
// an operator's own, every one for an admin), each with a Replay button. Hidden for a viewer.
import type { TerminalSessionSummary } from "../../collector/src/http/api-types.ts";
import { h, muted, section, table } from "./dom.ts";
import { DASH, formatDuration, formatTimestamp } from "./format.ts";

export function sessionsPanel(reference: string, sessions: TerminalSessionSummary[] | null): HTMLElement | null {
  if (sessions === null) return null;
  const mine = sessions.filter((s) => s.host === reference);
  const ended = (s: TerminalSessionSummary) =>
    s.endedAt === null ? "open" : s.endReason === "exit" ? `exit ${s.exitStatus ?? "?"}` : (s.endReason ?? DASH);
  const rows = mine.map((s) =>
    h("tr", null, h("td", null, formatTimestamp(s.startedAt)), h("td", null, s.actor), h("td", { class: "mono" }, s.chain.length > 1 ? `via ${s.chain.length - 1} hop${s.chain.length > 2 ? "s" : ""}` : "direct"),
      h("td", { class: "num" }, s.endedAt ? formatDuration((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000) : DASH), h("td", null, ended(s)),
      h("td", null, h("button", { type: "button", class: "replay", "data-session": s.id }, "Replay"))));
  return section(`Terminal sessions (${mine.length})`, table("Recorded terminal sessions", [["Started"], ["Who"], ["Route"], ["Length", "num"], ["Ended"], [""]], rows, "No recorded sessions on this host."),
    mine.length ? muted("Output is recorded (asciicast v2); keystrokes only when the collector is configured to.") : null);
}
