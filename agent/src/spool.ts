// The on-disk spool: encoded reports that JetStream has not acknowledged yet,
// oldest first, bounded in bytes, surviving restarts and crashes.
//
// One file per report, named by a counter that only grows (16 digits, so
// names sort as numbers). A file is written under a .tmp name, fsynced, then
// renamed into place: rename is atomic, so a crash mid-write leaves a .tmp
// (removed at the next open), never a half report under a real name. Each file
// still carries a CRC-32 of its payload, so a record damaged anyway (a
// filesystem that reorders writes, a full disk, a person) is detected, skipped
// and counted, and never stops the reports behind it.
//
// Lost reports are counted in a file beside them (dropped-total), so a count
// the agent had no chance to report before a restart is reported after it.
//
// A log of segments would write fewer files; one file per report makes
// "remove once acknowledged" a single unlink with no cursor to keep in step,
// and the spool is empty whenever NATS is reachable.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";

// node:zlib is loaded on the first spooled report, not at start: while NATS is
// reachable the spool is never touched, and the module costs ~1 MiB resident.
const crc32 = (data: Uint8Array): number => process.getBuiltinModule("node:zlib").crc32(data);

export const DEFAULT_SPOOL_MAX_BYTES = 100 * 1024 * 1024;

const MAGIC = 0x4e4d5331; // "NMS1"
const HEADER_BYTES = 12; // magic, payload length, CRC-32 of the payload
const RECORD = /^(\d{16})\.report$/;
const DROPPED_FILE = "dropped-total";

export interface SpoolEntry {
  /** Position in the spool: larger is newer. */
  readonly id: number;
  readonly bytes: number;
}

export interface SpoolStats {
  reports: number;
  bytes: number;
  /** Reports lost since the spool was created, across restarts: dropped over the bound, or unreadable. */
  droppedTotal: number;
}

export interface Spool {
  /** Appends a record; beyond the bound the oldest records go first. */
  append(payload: Uint8Array): void;
  /** The oldest record, or undefined when the spool is empty. Unreadable records are removed and counted on the way. */
  peek(): { entry: SpoolEntry; payload: Uint8Array } | undefined;
  /** Removes a record once it has been acknowledged. */
  remove(entry: SpoolEntry): void;
  stats(): SpoolStats;
}

export interface SpoolOptions {
  dir: string;
  maxBytes?: number;
  log: Logger;
}

export function encodeRecord(payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  record.writeUInt32BE(MAGIC, 0);
  record.writeUInt32BE(payload.length, 4);
  record.writeUInt32BE(crc32(payload), 8);
  record.set(payload, HEADER_BYTES);
  return record;
}

/** The payload of a record file's contents, or why it is not one. */
export function decodeRecord(record: Buffer): Uint8Array | string {
  if (record.length < HEADER_BYTES) return `torn header (${record.length} bytes)`;
  if (record.readUInt32BE(0) !== MAGIC) return "not a spool record";
  const length = record.readUInt32BE(4);
  if (record.length !== HEADER_BYTES + length) return `torn record (${record.length - HEADER_BYTES} of ${length} bytes)`;
  const payload = record.subarray(HEADER_BYTES);
  if (crc32(payload) !== record.readUInt32BE(8)) return "checksum mismatch";
  return payload;
}

function readDroppedTotal(path: string, log: Logger): number {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const count = Number(text.trim());
  if (Number.isSafeInteger(count) && count >= 0) return count;
  log.warn({ file: path, content: text.slice(0, 40) }, "spool: dropped-report count unreadable; counting again from 0");
  return 0;
}

const fileName = (id: number) => `${String(id).padStart(16, "0")}.report`;

/**
 * Opens (creating) the spool in dir. Synchronous file calls: a record is a few
 * KiB written once per interval, and the agent has nothing else to do meanwhile.
 */
export function openSpool(options: SpoolOptions): Spool {
  const { dir, log } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const entries: SpoolEntry[] = [];
  let bytes = 0;
  let droppedTotal = readDroppedTotal(join(dir, DROPPED_FILE), log);
  for (const name of readdirSync(dir)) {
    const match = RECORD.exec(name);
    if (match) {
      const size = statSync(join(dir, name)).size;
      entries.push({ id: Number(match[1]), bytes: size });
      bytes += size;
    } else if (name.endsWith(".tmp")) {
      // A write the agent did not finish: it never counted as spooled.
      unlinkSync(join(dir, name));
      log.warn({ file: name }, "spool: removed an unfinished write");
    }
  }
  entries.sort((a, b) => a.id - b.id);
  let nextId = (entries.at(-1)?.id ?? 0) + 1;
  if (entries.length > 0) log.info({ reports: entries.length, bytes }, "spool: reports waiting from an earlier run");

  const unlink = (entry: SpoolEntry) => {
    try {
      unlinkSync(join(dir, fileName(entry.id)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  };
  const countDropped = () => {
    droppedTotal++;
    writeFileSync(join(dir, DROPPED_FILE), `${droppedTotal}\n`, { mode: 0o600 });
  };
  // The record peek() handed out and not yet removed: it may be on the wire, so dropping it would
  // count as lost a report that arrives. The bound takes the next oldest instead.
  let lent: number | undefined;
  const dropOldest = (index: number) => {
    const [oldest] = entries.splice(index, 1);
    bytes -= oldest!.bytes;
    unlink(oldest!);
    countDropped();
  };
  const syncDir = () => {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };

  return {
    append(payload) {
      const record = encodeRecord(payload);
      const id = nextId++;
      const path = join(dir, fileName(id));
      try {
        const fd = openSync(`${path}.tmp`, "w", 0o600);
        try {
          writeSync(fd, record);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(`${path}.tmp`, path);
      } catch (error) {
        // A full disk: what was written of the record is not left to take the space a later one needs.
        try {
          unlinkSync(`${path}.tmp`);
        } catch {}
        throw error;
      }
      syncDir();
      entries.push({ id, bytes: record.length });
      bytes += record.length;
      let dropped = 0;
      // Never drop the record just written: a bound smaller than one report still keeps the newest.
      for (;;) {
        const oldest = entries[0]?.id === lent ? 1 : 0;
        if (bytes <= maxBytes || oldest >= entries.length - 1) break;
        dropOldest(oldest);
        dropped++;
      }
      if (dropped > 0) log.warn({ dropped, droppedTotal, maxBytes }, "spool full: oldest reports dropped");
    },
    peek() {
      while (entries.length > 0) {
        const entry = entries[0]!;
        let payload: Uint8Array | string;
        try {
          payload = decodeRecord(readFileSync(join(dir, fileName(entry.id))));
        } catch (error) {
          payload = (error as Error).message;
        }
        if (typeof payload !== "string") {
          lent = entry.id;
          return { entry, payload };
        }
        log.warn({ file: fileName(entry.id), reason: payload }, "spool: unreadable record skipped");
        entries.shift();
        bytes -= entry.bytes;
        unlink(entry);
        countDropped();
      }
      return undefined;
    },
    remove(entry) {
      if (entry.id === lent) lent = undefined;
      const index = entries.findIndex((e) => e.id === entry.id);
      if (index < 0) return;
      entries.splice(index, 1);
      bytes -= entry.bytes;
      unlink(entry);
    },
    stats: () => ({ reports: entries.length, bytes, droppedTotal }),
  };
}
