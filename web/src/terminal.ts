// The terminal dialog: a shell on a host through its hop chain (the collector does the SSH;
// docs/terminal.md), and the replay of a recorded session, both in xterm.js. The socket is
// opened with a single-use ticket (a browser cannot send Authorization on a WebSocket); what
// the remote side prints goes to xterm as bytes, never through the DOM as markup.
import { FitAddon } from "@xterm/addon-fit";
import { Terminal, type IDisposable } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import type { TerminalServerMessage, TerminalSessionSummary, TerminalTicketResponse } from "../../collector/src/http/api-types.ts";
import { getText, sendJson, type ApiError } from "./api.ts";
import { byId, h } from "./dom.ts";

const REPLAY_MAX_GAP_S = 1;

let term: Terminal | null = null;
let fit: FitAddon | null = null;
let socket: WebSocket | null = null;
let inputs: IDisposable[] = [];
let replayTimer = 0;
let reference = "";

function dialog(): HTMLDialogElement {
  return byId<HTMLDialogElement>("terminal-dialog");
}

/** The one xterm of the page, made on first use and reset for each session or replay. */
function screen(): Terminal {
  if (!term) {
    term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace", fontSize: 14 });
    fit = new FitAddon();
    term.loadAddon(fit);
    const container = byId("terminal-screen");
    openWithStyleNonce(term, container);
    window.addEventListener("resize", () => !dialog().hidden && fit?.fit());
  }
  return term;
}

/**
 * xterm's DOM renderer writes its rules (cell sizes, colours, the font) into <style> elements it
 * makes as the terminal opens. Each gets the page's CSP nonce as it is made, before it is in the
 * document, so the policy applies them (and goes on refusing any <style> without it); the nonce
 * is in a <meta> whose attribute the browser empties, so only script reads it (collector/src/http/web.ts).
 */
function openWithStyleNonce(terminal: Terminal, container: HTMLElement): void {
  const nonce = document.querySelector<HTMLMetaElement>("meta[name=style-nonce]")?.nonce ?? "";
  const createElement = document.createElement;
  document.createElement = function (this: Document, ...args: Parameters<Document["createElement"]>) {
    const element = createElement.apply(this, args);
    if (element instanceof HTMLStyleElement) element.nonce = nonce;
    return element;
  } as Document["createElement"];
  try {
    terminal.open(container);
  } finally {
    document.createElement = createElement;
  }
}

function setState(state: "connecting" | "open" | "ended" | "failed" | "replaying" | "replayed", text: string): void {
  dialog().dataset.state = state;
  byId("terminal-status").textContent = text;
  byId("terminal-reconnect").hidden = state === "open" || state === "connecting" || state.startsWith("replay");
}

function showError(message: TerminalServerMessage & { type: "error" } | { message: string }): void {
  const box = byId("terminal-error");
  box.hidden = false;
  const m = message as Partial<TerminalServerMessage & { type: "error" }>;
  box.replaceChildren(
    h("strong", null, m.hop ? `${m.hop}: ${reasonText(m.reason)}` : "Could not open the terminal"),
    h("pre", { class: "terminal-error-text" }, message.message),
  );
  if (m.pinned) box.append(h("dl", { class: "facts" }, h("dt", null, "Pinned"), h("dd", { class: "mono", "data-fingerprint": "pinned" }, m.pinned.join(", ")), h("dt", null, "Offered"), h("dd", { class: "mono", "data-fingerprint": "offered" }, m.offered ?? "")));
}

function reasonText(reason: string | undefined): string {
  switch (reason) {
    case "timeout": return "timed out";
    case "refused": return "connection refused";
    case "auth": return "the collector's keys were refused";
    case "key_changed": return "host key changed — connection refused";
    default: return "failed";
  }
}

function hopProgress(message: TerminalServerMessage & { type: "hop" }): void {
  const list = byId("terminal-hops");
  let item = list.querySelector<HTMLElement>(`li[data-index="${message.index}"]`);
  if (!item) {
    item = h("li", { "data-index": message.index });
    list.append(item);
  }
  item.dataset.state = message.state;
  item.replaceChildren(h("span", { class: "mono" }, message.hop), " ", h("span", { class: "muted" }, message.state));
}

function reset(title: string): Terminal {
  closeSocket();
  window.clearTimeout(replayTimer);
  const d = dialog();
  byId("terminal-title").textContent = title;
  byId("terminal-hops").replaceChildren();
  byId("terminal-error").hidden = true;
  if (!d.open) d.showModal();
  const t = screen();
  t.reset();
  fit!.fit();
  return t;
}

function closeSocket(): void {
  for (const input of inputs) input.dispose();
  inputs = [];
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  socket = null;
}

/** Opens a shell on the host (CLIENT/SITE/NAME) in the dialog. */
export function openTerminal(host: string): void {
  reference = host;
  void connect();
}

async function connect(): Promise<void> {
  const t = reset(`Terminal — ${reference}`);
  setState("connecting", "Asking the collector for a ticket…");
  let ticket: TerminalTicketResponse;
  try {
    ticket = await sendJson<TerminalTicketResponse>("POST", `/api/v1/terminal/${encodeURIComponent(reference)}/ticket`);
  } catch (err) {
    showError({ message: (err as ApiError).message });
    setState("failed", "Not connected.");
    return;
  }
  const url = new URL(`/api/v1/terminal/${encodeURIComponent(reference)}`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("cols", String(t.cols));
  url.searchParams.set("rows", String(t.rows));
  const ws = new WebSocket(url, [ticket.protocol, `ticket.${ticket.ticket}`]);
  ws.binaryType = "arraybuffer";
  socket = ws;
  let ended = false;
  setState("connecting", "Connecting…");
  const encoder = new TextEncoder();
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") {
      t.write(new Uint8Array(event.data as ArrayBuffer));
      return;
    }
    const message = JSON.parse(event.data) as TerminalServerMessage;
    if (message.type === "hop") hopProgress(message);
    else if (message.type === "ready") {
      setState("open", `Connected to ${message.host} (session ${message.session}, recorded).`);
      t.focus();
    } else if (message.type === "error") {
      ended = true;
      showError(message);
      setState("failed", "Not connected.");
    } else if (message.type === "exit") {
      ended = true;
      setState("ended", message.reason === "exit" ? `The shell exited (status ${message.status ?? "unknown"}).` : message.reason === "idle" ? "Closed after being idle." : "The session ended.");
    }
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    if (!ended) setState("ended", "The connection to the collector closed.");
  };
  inputs = [
    t.onData((data) => ws.readyState === WebSocket.OPEN && ws.send(encoder.encode(data))),
    t.onResize(({ cols, rows }) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: "resize", cols, rows }))),
  ];
}

/** Plays a recorded session in the dialog, with pauses shortened to a second at most. */
export async function replaySession(session: TerminalSessionSummary): Promise<void> {
  reference = "";
  const t = reset(`Recording — ${session.actor} on ${session.host}, ${new Date(session.startedAt).toLocaleString()}`);
  setState("replaying", "Loading the recording…");
  let cast: string;
  try {
    cast = await getText(`/api/v1/sessions/${session.id}`, "application/x-asciicast");
  } catch (err) {
    showError({ message: (err as ApiError).message });
    setState("failed", "Could not load the recording.");
    return;
  }
  const [header, ...lines] = cast.split("\n").filter(Boolean);
  const { width, height } = JSON.parse(header!) as { width: number; height: number };
  t.resize(width, height);
  const events = lines.map((line) => JSON.parse(line) as [number, string, string]);
  setState("replaying", `Replaying session ${session.id}…`);
  let at = 0;
  let clock = 0;
  const step = () => {
    while (at < events.length) {
      const [time, code, data] = events[at]!;
      const wait = Math.min(time - clock, REPLAY_MAX_GAP_S);
      if (wait > 0.01) {
        clock = time;
        replayTimer = window.setTimeout(step, wait * 1000);
        return;
      }
      clock = time;
      at++;
      if (code === "o") t.write(data);
      else if (code === "r") {
        const [cols, rows] = data.split("x").map(Number);
        if (cols && rows) t.resize(cols, rows);
      }
    }
    setState("replayed", `Replayed session ${session.id}${session.truncated ? " (the recording was cut at terminal.max_recording)" : ""}.`);
  };
  step();
}

export function startTerminal(): void {
  byId("terminal-close").addEventListener("click", () => dialog().close());
  byId("terminal-reconnect").addEventListener("click", () => reference && void connect());
  // Closing the dialog (button or Escape) ends the session: the collector then closes every hop.
  dialog().addEventListener("close", () => {
    closeSocket();
    window.clearTimeout(replayTimer);
  });
}
