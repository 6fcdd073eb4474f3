// The only place bytes become messages and messages become bytes.
import { AlertEvent } from "../gen/netmap/v1/alert.ts";
import { AuditEvent } from "../gen/netmap/v1/audit.ts";
import { InventoryEvent } from "../gen/netmap/v1/inventory.ts";
import { HostReport } from "../gen/netmap/v1/report.ts";
import { NetMapError } from "../../lib/errors.ts";
import { checkReportNormalised } from "./report-check.ts";

/**
 * Reports beyond this size are refused on both sides. Kept below NATS' default
 * max_payload (1 MiB) so an oversized message reaches the collector and is
 * counted there rather than vanishing at the broker. A busy host's report is
 * some tens of KiB.
 */
export const MAX_REPORT_BYTES = 512 * 1024;

/** Bytes that are no message of the expected type (or too many of them). */
export class CodecError extends NetMapError {
  constructor(message: string, options?: ErrorOptions) {
    super("REPORT_UNDECODABLE", message, options);
  }
}

export function encodeReport(report: HostReport): Uint8Array {
  const bytes = HostReport.encode(report).finish();
  if (bytes.length > MAX_REPORT_BYTES) {
    throw new CodecError(`report is ${bytes.length} bytes, over the ${MAX_REPORT_BYTES}-byte limit`);
  }
  return bytes;
}

/**
 * Decodes a report and checks everything in it (report-check.ts): protobuf
 * decodes almost any bytes into *some* message, and what an agent sends is
 * untrusted. Throws CodecError for bytes that are no report and
 * ReportInvalidError, naming the field, for a report that breaks a rule.
 */
export function decodeReport(bytes: Uint8Array): HostReport {
  return decodeReceivedReport(bytes).report;
}

/**
 * decodeReport, with the report's bytes to store: those received when the check
 * normalised nothing (they decode to the very same report), else the report re-encoded.
 * Saves the collector encoding every report it stores.
 */
export function decodeReceivedReport(bytes: Uint8Array): { report: HostReport; bytes: Uint8Array } {
  if (bytes.length === 0) throw new CodecError("empty message");
  if (bytes.length > MAX_REPORT_BYTES) {
    throw new CodecError(`message is ${bytes.length} bytes, over the ${MAX_REPORT_BYTES}-byte limit`);
  }
  let report: HostReport;
  try {
    report = HostReport.decode(bytes);
  } catch (error) {
    throw new CodecError(`not a HostReport: ${(error as Error).message}`, { cause: error });
  }
  return { report, bytes: checkReportNormalised(report) ? encodeReport(report) : bytes };
}

export function encodeAlertEvent(event: AlertEvent): Uint8Array {
  return AlertEvent.encode(event).finish();
}

export function decodeAlertEvent(bytes: Uint8Array): AlertEvent {
  try {
    return AlertEvent.decode(bytes);
  } catch (error) {
    throw new CodecError(`not an AlertEvent: ${(error as Error).message}`, { cause: error });
  }
}

export function encodeInventoryEvent(event: InventoryEvent): Uint8Array {
  return InventoryEvent.encode(event).finish();
}

export function decodeInventoryEvent(bytes: Uint8Array): InventoryEvent {
  try {
    return InventoryEvent.decode(bytes);
  } catch (error) {
    throw new CodecError(`not an InventoryEvent: ${(error as Error).message}`, { cause: error });
  }
}

export function encodeAuditEvent(event: AuditEvent): Uint8Array {
  return AuditEvent.encode(event).finish();
}

export function decodeAuditEvent(bytes: Uint8Array): AuditEvent {
  try {
    return AuditEvent.decode(bytes);
  } catch (error) {
    throw new CodecError(`not an AuditEvent: ${(error as Error).message}`, { cause: error });
  }
}

export { AlertEvent, AuditEvent, HostReport, InventoryEvent };
