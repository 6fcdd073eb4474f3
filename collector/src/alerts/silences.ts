// Silences, pure: Alertmanager's matchers over an alert's labels (alertname and severity
// included) and a time window. A silenced alert is not notified; its state still moves.
import { z } from "zod";
import { BadRequestError } from "../errors.ts";
import type { Alert } from "./engine.ts";

export interface Matcher {
  name: string;
  value: string;
  /** The value is a regular expression, anchored at both ends as Alertmanager's. */
  isRegex: boolean;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
  createdAt: Date;
}

export type SilenceState = "pending" | "active" | "expired";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The labels silences match: alertname (the rule), severity, then the alert's own. */
export function silenceLabels(alert: Pick<Alert, "rule" | "severity" | "labels">): Record<string, string> {
  return { alertname: alert.rule, severity: alert.severity, ...alert.labels };
}

function anchored(value: string): RegExp {
  return new RegExp(`^(?:${value})$`);
}

/** One matcher as a person gives it: a Prometheus label name, a string value, a regex that compiles. */
const matcherSchema = z
  .object(
    {
      name: z.string({ error: "expected a label name" }).regex(LABEL_NAME, { error: (issue) => `invalid label name ${JSON.stringify(issue.input)}` }),
      value: z.string({ error: "value must be a string" }),
      isRegex: z.unknown().optional().transform((flag) => flag === true),
    },
    { error: "expected {name, value, isRegex}" },
  )
  .superRefine((matcher, context) => {
    if (!matcher.isRegex) return;
    try {
      anchored(matcher.value);
    } catch (error) {
      context.addIssue({ code: "custom", message: `invalid regular expression: ${(error as Error).message}` });
    }
  });

/** A silence's matchers: at least one, each checked, the same for every caller (HTTP, gRPC, CLI). */
export const matchersSchema = z.array(matcherSchema, { error: "a silence needs at least one matcher" }).min(1, "a silence needs at least one matcher");

/** Checks matchers as given by a person; throws BadRequestError naming each wrong one. */
export function validateMatchers(matchers: unknown): Matcher[] {
  const parsed = matchersSchema.safeParse(matchers);
  if (parsed.success) return parsed.data;
  throw new BadRequestError(
    parsed.error.issues
      .map((issue) => {
        const [index, field] = issue.path;
        return typeof index === "number" ? `matcher ${index + 1}${field === undefined ? "" : ` (${String(field)})`}: ${issue.message}` : issue.message;
      })
      .join("; "),
  );
}

/** `name=value` or `name=~regex`, as `netmap silence add` takes them. */
export function parseMatcher(text: string): Matcher {
  const match = /^([a-zA-Z_][a-zA-Z0-9_]*)(=~|=)(.*)$/s.exec(text);
  if (!match) throw new BadRequestError(`invalid matcher ${JSON.stringify(text)}: expected name=value or name=~regex`);
  return validateMatchers([{ name: match[1], value: match[3], isRegex: match[2] === "=~" }])[0]!;
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.isRegex ? "=~" : "="}${JSON.stringify(m.value)}`;
}

/** Every matcher matches; a label the alert lacks is the empty string, as in Alertmanager. */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const value = labels[m.name] ?? "";
    return m.isRegex ? anchored(m.value).test(value) : value === m.value;
  });
}

export function silenceState(silence: Pick<Silence, "startsAt" | "endsAt">, now: Date): SilenceState {
  if (now < silence.startsAt) return "pending";
  if (now < silence.endsAt) return "active";
  return "expired";
}

/** The active silences that mute this alert at `now`. */
export function silencedBy(silences: readonly Silence[], alert: Pick<Alert, "rule" | "severity" | "labels">, now: Date): Silence[] {
  const labels = silenceLabels(alert);
  return silences.filter((s) => silenceState(s, now) === "active" && matchesAll(s.matchers, labels));
}

/** "2h", "30m", "1d", "90s", "1h30m" → seconds. */
export function parseDuration(text: string): number {
  const re = /(\d+)([smhdw])/g;
  if (!/^(\d+[smhdw])+$/.test(text)) throw new BadRequestError(`invalid duration ${JSON.stringify(text)}: expected e.g. 30m, 2h, 1d`);
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
  let seconds = 0;
  for (const [, n, u] of text.matchAll(re)) seconds += Number(n) * unit[u!]!;
  if (seconds <= 0) throw new BadRequestError("a silence's duration must be positive");
  return seconds;
}
