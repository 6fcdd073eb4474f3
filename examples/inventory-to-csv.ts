#!/usr/bin/env node
// NetMap's inventory changes (hosts discovery found added, changed or removed) appended to a
// CSV file, one row per InventoryEvent, in stream order.
//
//   NATS_USER=inventory NATS_PASSWORD=... node examples/inventory-to-csv.ts \
//     --nats nats://nats.example.internal:4222 --csv /srv/inventory.csv [--durable inventory] [--from all|new]
//
// The first column is the event's stream sequence: a row is written (and flushed to disk)
// before the event is acknowledged, and at start the rows already there are skipped when
// redelivered, so the file holds each event once however the subscriber is stopped.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import type { JsMsg } from "@nats-io/jetstream";
import { decodeInventoryEvent } from "../proto/src/codec.ts";
import { INVENTORY_SUBJECT_PREFIX } from "../proto/src/subjects.ts";
import type { InventoryEvent } from "../proto/gen/netmap/v1/inventory.ts";
import { csvField } from "../collector/src/text/escape.ts";
import { consumeEvents, parseOptions, untilStopped } from "./durable-events.ts";

const CSV_COLUMNS = ["seq", "at", "change", "host_id", "client", "site", "name", "kind", "parent", "source", "status", "addresses", "macs", "tags", "changed", "stale"];

function csvRow(seq: number, e: InventoryEvent): string {
  const fields = [
    String(seq), e.at?.toISOString() ?? "", e.change, String(e.hostId), e.client, e.site, e.name, e.kind, e.parent, e.source, e.status,
    e.addresses.join(" "), e.macs.join(" "), e.tags.join(" "), e.changed.join(" "), String(e.stale),
  ];
  return `${fields.map(csvField).join(",")}\r\n`;
}

/** The stream sequence of the file's last row; 0 for a new file. */
function lastSequence(path: string): number {
  if (!existsSync(path)) return 0;
  const rows = readFileSync(path, "utf8").trimEnd().split("\r\n");
  const seq = Number(/^"(\d+)"/.exec(rows.at(-1) ?? "")?.[1] ?? 0);
  return Number.isSafeInteger(seq) ? seq : 0;
}

const { durable, values } = parseOptions(process.argv.slice(2), ["csv"], "inventory");
if (!values.csv) throw new Error("--csv FILE: where the rows go");
const path = values.csv;
let written = lastSequence(path);
const fd = openSync(path, "a");
if (written === 0 && readFileSync(path).length === 0) writeSync(fd, `${CSV_COLUMNS.map(csvField).join(",")}\r\n`);

async function append(msg: JsMsg): Promise<void> {
  if (msg.seq <= written) return; // written before a stop, acknowledged now
  writeSync(fd, csvRow(msg.seq, decodeInventoryEvent(msg.data)));
  fsyncSync(fd);
  written = msg.seq;
}

try {
  await consumeEvents(durable, `${INVENTORY_SUBJECT_PREFIX}.>`, append, untilStopped());
} finally {
  closeSync(fd);
}
