// What a synthetic check is, as people write it: `checks:` in agent.yaml, and
// `checks:` in netmap.yaml, which the collector sends each agent it selects
// (agent/src/checks/remote.ts) in the same form. One validation for both:
// each error names the entry and the field to fix.
//
//   checks:
//     - { name: shop, type: http, url: https://shop.example/health, interval: 30s, timeout: 5s }
//     - { name: db, type: tcp, address: 10.0.0.5:5432 }
import { isIP } from "node:net";
import { resolve } from "node:path";
import * as z from "zod/mini";
import { ConfigError } from "../../lib/errors.ts";
import { parseDurationSeconds } from "../../lib/settings.ts";
import { CHECK_NAME } from "./report-check.ts";

export interface HttpCheck {
  readonly name: string;
  readonly type: "http";
  readonly url: string;
  /** The status the check expects; absent: any 2xx or 3xx. */
  readonly status: number | undefined;
  /** Extra CA certificates (PEM) the server's certificate may chain to. */
  readonly caFile: string | undefined;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
}

export interface TcpCheck {
  readonly name: string;
  readonly type: "tcp";
  readonly host: string;
  readonly port: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
}

export type CheckConfig = HttpCheck | TcpCheck;

export const DEFAULT_CHECK_INTERVAL_SECONDS = 30;
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 5;
const MIN_CHECK_INTERVAL_SECONDS = 1;

const duration = z.union([z.string(), z.number()]);
export const checksFileSchema = z.array(
  z.strictObject({
    name: z.string(),
    type: z.enum(["http", "tcp"]),
    url: z.optional(z.string()),
    address: z.optional(z.string()),
    status: z.optional(z.number()),
    ca_file: z.optional(z.string()),
    interval: z.optional(duration),
    timeout: z.optional(duration),
  }),
);

/** host:port, [v6]:port; the port 1-65535. */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535 || (match[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host, port };
}

/** The checks of a config file, or a ConfigError naming `checks[i].field in FILE`. */
export function parseChecks(entries: z.infer<typeof checksFileSchema>, file: string): CheckConfig[] {
  const names = new Set<string>();
  return entries.map((entry, i) => {
    const fail = (field: string, expected: string, value?: unknown): never => {
      throw new ConfigError(`invalid checks[${i}].${field}${value === undefined ? "" : ` ${JSON.stringify(value)}`} in ${file}: ${expected}`);
    };
    if (!CHECK_NAME.test(entry.name)) fail("name", "expected 1-64 characters of [A-Za-z0-9._-]", entry.name);
    if (names.has(entry.name)) fail("name", "another check has this name", entry.name);
    names.add(entry.name);
    const seconds = (field: "interval" | "timeout", fallback: number, min: number) => {
      const value = entry[field];
      if (value === undefined) return fallback;
      const parsed = parseDurationSeconds(value);
      return parsed !== undefined && parsed >= min ? parsed : fail(field, `expected a duration of at least ${min} s, like 30s`, value);
    };
    const intervalSeconds = seconds("interval", DEFAULT_CHECK_INTERVAL_SECONDS, MIN_CHECK_INTERVAL_SECONDS);
    const timeoutSeconds = seconds("timeout", Math.min(DEFAULT_CHECK_TIMEOUT_SECONDS, intervalSeconds), 0.1);
    if (timeoutSeconds > intervalSeconds) fail("timeout", `expected no more than the interval (${intervalSeconds} s)`, entry.timeout);
    const misplaced = (field: "url" | "address" | "status" | "ca_file") => entry[field] !== undefined && fail(field, `is not a setting of a ${entry.type} check`);
    if (entry.type === "tcp") {
      for (const field of ["url", "status", "ca_file"] as const) misplaced(field);
      if (entry.address === undefined) fail("address", "a tcp check needs an address like 10.0.0.5:5432");
      const target = parseAddress(entry.address!) ?? fail("address", "expected host:port or [v6]:port, port 1-65535", entry.address);
      return { name: entry.name, type: "tcp", host: target.host, port: target.port, intervalSeconds, timeoutSeconds };
    }
    misplaced("address");
    if (entry.url === undefined) fail("url", "an http check needs a url like https://shop.example/health");
    let url: URL | undefined;
    try {
      url = new URL(entry.url!);
    } catch {
      fail("url", "expected an http:// or https:// URL", entry.url);
    }
    if (url!.protocol !== "http:" && url!.protocol !== "https:") fail("url", "expected an http:// or https:// URL", entry.url);
    if (entry.status !== undefined && !(Number.isInteger(entry.status) && entry.status >= 100 && entry.status <= 599)) fail("status", "expected an HTTP status from 100 to 599", entry.status);
    if (entry.ca_file !== undefined && url!.protocol !== "https:") fail("ca_file", "applies to https:// URLs only");
    return {
      name: entry.name, type: "http", url: url!.href, status: entry.status, caFile: entry.ca_file === undefined ? undefined : resolve(entry.ca_file), intervalSeconds, timeoutSeconds,
    };
  });
}

/** One entry of `checks:` as written, before parseChecks. */
export type CheckEntry = z.infer<typeof checksFileSchema>[number];

/** Entries of unknown shape (a collector's config or answer) checked as a file's are; a ConfigError naming `source` otherwise. */
export function parseCheckEntries(value: unknown, source: string): { entries: CheckEntry[]; checks: CheckConfig[] } {
  const parsed = checksFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid checks${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")} in ${source}: ${issue.message}`);
  }
  return { entries: parsed.data, checks: parseChecks(parsed.data, source) };
}

/**
 * The collector's answer on netmap.v1.checks.<agent> (subjects.ts): the entries of
 * netmap.yaml's `checks:` it selected for that agent, in the form people write them.
 */
export function encodeChecksReply(checks: readonly CheckEntry[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ checks }));
}

/** The checks of a collector's answer, validated as a file's are; a ConfigError naming `source` otherwise. */
export function decodeChecksReply(bytes: Uint8Array, source: string): CheckConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ConfigError(`${source}: not JSON text: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || !("checks" in value)) throw new ConfigError(`${source}: expected { "checks": [...] }`);
  return parseCheckEntries(value.checks, source).checks;
}
