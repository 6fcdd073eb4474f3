// A session's asciicast v2 recording (https://docs.asciinema.org/manual/asciicast/v2/):
// output always ("o"), keystrokes only when terminal.record_input says so ("i"), resizes ("r").
// Events are buffered and written to the database every second (or 64 KiB), one chunk a
// write, in order; past terminal.max_recording the cast stops with a marker ("m").
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import type { TerminalSessionSummary } from "../http/api-types.ts";
import { appendChunk } from "./repository.ts";

const FLUSH_MS = 1000;
const FLUSH_BYTES = 64 * 1024;

/** The cast's first line, from what the database keeps of the session. */
export function castHeader(session: TerminalSessionSummary): string {
  return `${JSON.stringify({
    version: 2,
    width: session.width,
    height: session.height,
    timestamp: Math.floor(Date.parse(session.startedAt) / 1000),
    ...(session.endedAt && { duration: (Date.parse(session.endedAt) - Date.parse(session.startedAt)) / 1000 }),
    title: `${session.actor} on ${session.host}`,
    env: { TERM: "xterm-256color" },
  })}\n`;
}

export class Recorder {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #sessionId: number;
  readonly #startedAt: number;
  readonly #maxBytes: number;
  readonly #recordInput: boolean;
  // Output arrives in chunks that may split a UTF-8 character; each stream keeps its own tail.
  readonly #outputDecoder = new TextDecoder("utf-8");
  readonly #inputDecoder = new TextDecoder("utf-8");
  #pending = "";
  #bytes = 0;
  #truncated = false;
  #seq = 0;
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { db: Db; log: Logger; sessionId: number; startedAt: Date; maxBytes: number; recordInput: boolean }) {
    this.#db = options.db;
    this.#log = options.log;
    this.#sessionId = options.sessionId;
    this.#startedAt = options.startedAt.getTime();
    this.#maxBytes = options.maxBytes;
    this.#recordInput = options.recordInput;
  }

  output(data: Buffer): void {
    this.#event("o", this.#outputDecoder.decode(data, { stream: true }));
  }

  input(data: Buffer): void {
    if (this.#recordInput) this.#event("i", this.#inputDecoder.decode(data, { stream: true }));
  }

  resize(cols: number, rows: number): void {
    this.#event("r", `${cols}x${rows}`);
  }

  /** Writes what is buffered and waits for every write so far. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#flush();
    await this.#writing;
  }

  #event(code: string, data: string): void {
    if (this.#truncated || data === "") return;
    const line = `${JSON.stringify([Number(((Date.now() - this.#startedAt) / 1000).toFixed(6)), code, data])}\n`;
    const size = Buffer.byteLength(line);
    if (this.#bytes + size > this.#maxBytes) {
      this.#truncated = true;
      this.#pending += `${JSON.stringify([(Date.now() - this.#startedAt) / 1000, "m", "recording truncated: terminal.max_recording reached"])}\n`;
      this.#flush();
      return;
    }
    this.#bytes += size;
    this.#pending += line;
    if (this.#pending.length >= FLUSH_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    const events = this.#pending;
    const seq = this.#seq++;
    const bytes = this.#bytes;
    const truncated = this.#truncated;
    this.#pending = "";
    // Chained: chunks land in order, and one failed write loses that chunk, not the session.
    this.#writing = this.#writing.then(() =>
      appendChunk(this.#db, this.#sessionId, seq, events, bytes, truncated).catch((error: unknown) =>
        this.#log.error({ err: error, session: this.#sessionId, seq }, "could not store part of a terminal recording"),
      ),
    );
  }
}
