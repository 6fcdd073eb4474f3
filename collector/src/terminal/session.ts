// One terminal session: the WebSocket from the browser, the SSH chain to the host (chain.ts),
// the shell, its recording (recording.ts) and its audit entries; and what holds for all of them
// on this collector: the per-user limit, the idle timeout, the retention of recordings.
// Whatever ends a session (the shell exits, the browser goes away, idle, an error) ends all of
// it: the shell channel and every hop's connection are closed, so sshd on the target ends the
// session's processes (no orphaned shell), and the recording and audit entry are written.
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import type { AuditTrail } from "../audit/trail.ts";
import type { Caller } from "../auth/roles.ts";
import type { Db } from "../db/database.ts";
import { HopError, NetMapError, TerminalError } from "../errors.ts";
import type { TerminalServerMessage } from "../http/api-types.ts";
import type { Topology } from "../topology/model.ts";
import { formatHop, routeTo } from "../topology/routes.ts";
import { openChain, openShell, type Chain } from "./chain.ts";
import type { SshClientConfig, TerminalConfig } from "./config.ts";
import { Recorder } from "./recording.ts";
import { deleteSessionsBefore, endSession, insertSession } from "./repository.ts";

export interface TerminalDeps {
  db: Db;
  log: Logger;
  ssh: SshClientConfig;
  terminal: TerminalConfig;
  audit: AuditTrail;
  loadTopology: () => Promise<Topology>;
}

export interface TerminalRequest {
  caller: Caller;
  /** The caller's address. */
  source: string;
  /** The host as the caller named it (NAME, SITE/NAME, CLIENT/SITE/NAME). */
  host: string;
  cols: number;
  rows: number;
}

export interface TerminalService {
  open(socket: WebSocket, request: TerminalRequest): Promise<void>;
  /** Sessions open on this collector, per caller name. */
  openSessions(): ReadonlyMap<string, number>;
  /** Ends every session and the retention sweep. */
  stop(): Promise<void>;
}

const RETENTION_SWEEP_MS = 3600_000;
/** Output waiting for the browser above which the shell is paused, and below which it goes on. */
const BUFFERED_HIGH = 1024 * 1024;
const BUFFERED_LOW = 256 * 1024;

export function terminalService(deps: TerminalDeps): TerminalService {
  const { db, log, ssh, terminal, audit } = deps;
  const perUser = new Map<string, number>();
  const enders = new Set<() => Promise<void>>();

  const sweep = () =>
    deleteSessionsBefore(db, new Date(Date.now() - terminal.retentionSeconds * 1000))
      .then((n) => n && log.info({ deleted: n }, "deleted terminal recordings past terminal.retention"))
      .catch((error: unknown) => log.warn({ err: error }, "could not delete old terminal recordings"));
  void sweep();
  const sweeper = setInterval(sweep, RETENTION_SWEEP_MS).unref();

  const send = (socket: WebSocket, message: TerminalServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const auditEntry = (request: TerminalRequest, action: "terminal_open" | "terminal_close", target: string, outcome: string) =>
    audit.record({ caller: request.caller, action, target, source: request.source, outcome, transport: "http" });

  async function open(socket: WebSocket, request: TerminalRequest): Promise<void> {
    const { caller } = request;
    let socketClosed = false;
    socket.once("close", () => (socketClosed = true));
    const held = perUser.get(caller.name) ?? 0;
    let counted = false;
    let chain: Chain | undefined;
    let target = request.host;
    try {
      if (held >= terminal.sessionsPerUser) {
        throw new TerminalError("TERMINAL_LIMIT", `${caller.name} already has ${held} terminal sessions open (terminal.sessions_per_user: ${terminal.sessionsPerUser}); close one first`);
      }
      perUser.set(caller.name, held + 1);
      counted = true;
      const hops = routeTo(await deps.loadTopology(), request.host);
      const last = hops.at(-1)!;
      target = `${last.client}/${last.site}/${last.name}`;
      chain = await openChain(hops, ssh, (progress) => send(socket, { type: "hop", ...progress, of: hops.length }));
      if (socketClosed) throw new TerminalError("TERMINAL_CLOSED", "the browser went away while connecting");
      const shell = await openShell(chain, request).catch((error: Error) => {
        throw new HopError(target, hops.length - 1, "error", `${target}: logged in, but no shell: ${error.message}`);
      });
      const session = await insertSession(db, {
        actor: caller.name, role: caller.role, host: target, source: request.source, width: request.cols, height: request.rows,
        chain: chain.logins.map((hop) => `${hop.client}/${hop.site}/${hop.name} ${formatHop(hop)}`), inputRecorded: terminal.recordInput,
      });
      await auditEntry(request, "terminal_open", `${target} session ${session.id}`, "ok");
      run(socket, request, chain, shell, session, target);
    } catch (error) {
      chain?.close();
      if (counted) release(caller.name);
      const coded = error instanceof NetMapError;
      if (!coded) log.error({ err: error, host: request.host }, "terminal session failed");
      const code = coded ? error.code : "INTERNAL";
      send(socket, {
        type: "error", code, message: coded ? error.message : "internal error (logged by the collector)",
        ...(error instanceof HopError && { hop: error.hop, reason: error.reason, ...(error.fingerprints ?? {}) }),
      });
      await auditEntry(request, "terminal_open", target, code);
      socket.close(1000);
    }
  }

  function release(name: string) {
    const held = (perUser.get(name) ?? 1) - 1;
    if (held <= 0) perUser.delete(name);
    else perUser.set(name, held);
  }

  function run(socket: WebSocket, request: TerminalRequest, chain: Chain, shell: Awaited<ReturnType<typeof openShell>>, session: { id: number; startedAt: Date }, target: string) {
    const recorder = new Recorder({ db, log, sessionId: session.id, startedAt: session.startedAt, maxBytes: terminal.maxRecordingBytes, recordInput: terminal.recordInput });
    let exitStatus: number | null = null;
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => void end("idle"), terminal.idleTimeoutSeconds * 1000);
    };
    let ended: Promise<void> | undefined;
    const end = (reason: "exit" | "idle" | "closed" | "error") =>
      (ended ??= (async () => {
        enders.delete(ender);
        clearTimeout(idle);
        shell.removeAllListeners("data");
        shell.close();
        chain.close();
        send(socket, { type: "exit", status: exitStatus, reason });
        socket.close(1000);
        release(request.caller.name);
        await recorder.close();
        await endSession(db, session.id, { exitStatus, reason }).catch((error: unknown) => log.error({ err: error, session: session.id }, "could not store how a terminal session ended"));
        await auditEntry(request, "terminal_close", `${target} session ${session.id}`, reason === "exit" ? `exit ${exitStatus ?? "unknown"}` : reason);
      })());
    const ender = () => end("closed");
    enders.add(ender);

    send(socket, { type: "ready", session: session.id, host: target });
    touch();
    // A browser reading slower than the shell writes (`cat` of a large file) holds the shell back
    // rather than the collector's memory: SSH's window then holds the target back.
    let paused = false;
    shell.on("data", (data: Buffer) => {
      touch();
      recorder.output(data);
      if (socket.readyState !== socket.OPEN) return;
      socket.send(data, { binary: true }, () => {
        if (paused && socket.bufferedAmount < BUFFERED_LOW) {
          paused = false;
          shell.resume();
        }
      });
      if (!paused && socket.bufferedAmount > BUFFERED_HIGH) {
        paused = true;
        shell.pause();
      }
    });
    shell.on("exit", (code: number | null) => (exitStatus = code));
    shell.on("close", () => void end("exit"));
    chain.target.on("close", () => void end(exitStatus === null ? "error" : "exit"));
    socket.on("message", (data: Buffer, binary: boolean) => {
      if (binary) {
        touch();
        recorder.input(data);
        shell.write(data);
        return;
      }
      const message = parseClientMessage(data.toString("utf8"));
      if (message) {
        shell.setWindow(message.rows, message.cols, 0, 0);
        recorder.resize(message.cols, message.rows);
      }
    });
    socket.on("close", () => void end("closed"));
    socket.on("error", () => void end("closed"));
    // Gone while the session was being stored: no close event is coming.
    if (socket.readyState !== socket.OPEN) void end("closed");
  }

  return {
    open,
    openSessions: () => perUser,
    stop: async () => {
      clearInterval(sweeper);
      await Promise.all([...enders].map((ender) => ender()));
    },
  };
}

/** A resize, or undefined for anything else (ignored: the browser is the only sender, and a bad frame ends nothing). */
export function parseClientMessage(text: string): { cols: number; rows: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = value as { type?: unknown; cols?: unknown; rows?: unknown };
  if (m?.type !== "resize" || !isSize(m.cols) || !isSize(m.rows)) return undefined;
  return { cols: m.cols, rows: m.rows };
}

export function isSize(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1000;
}
