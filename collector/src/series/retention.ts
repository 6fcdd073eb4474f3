// `retention:` in netmap.yaml — how long each resolution of the time series is
// kept (DESIGN.md). Checked at start-up: a duration like 14d, 12w or 2y, each
// coarser tier kept at least as long as the finer one (a rollup is computed from
// the raw samples, so raw data older than the minute tier's retention could
// never be summarised anyway).
import { z } from "zod";
import type { TierName } from "./catalogue.ts";

export type Retention = Readonly<Record<TierName, number>>;

const DAY = 86_400;
export const DEFAULT_RETENTION: Retention = Object.freeze({ raw: 14 * DAY, minute: 90 * DAY, hour: 730 * DAY });

const UNITS: Record<string, number> = { h: 3_600, d: DAY, w: 7 * DAY, y: 365 * DAY };

/** Seconds in a retention written like 36h, 14d, 12w or 2y; undefined if it is not one, or not positive. */
export function parseRetention(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d{1,6})(h|d|w|y)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * UNITS[match[2]!]! : 0;
  return seconds > 0 ? seconds : undefined;
}

const duration = (tier: TierName) =>
  z.unknown().transform((value, ctx) => {
    const seconds = parseRetention(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: "custom", message: `retention.${tier}: expected a positive duration like 14d, 12w or 2y (units h, d, w, y), got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return seconds;
  });

export const retentionSchema = z
  .object({ raw: duration("raw"), minute: duration("minute"), hour: duration("hour") })
  .strict()
  .partial()
  .transform((given, ctx): Retention => {
    const r = { ...DEFAULT_RETENTION, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as Retention;
    const days = (s: number) => `${+(s / DAY).toFixed(2)}d`;
    if (r.minute < r.raw) ctx.addIssue({ code: "custom", message: `retention.minute (${days(r.minute)}) must be at least retention.raw (${days(r.raw)})` });
    if (r.hour < r.minute) ctx.addIssue({ code: "custom", message: `retention.hour (${days(r.hour)}) must be at least retention.minute (${days(r.minute)})` });
    return r;
  });
