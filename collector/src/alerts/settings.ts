// Rule settings: built-in defaults, overridden by `rules:` in netmap.yaml —
// globally, then per client, site, label, host and (filesystem rules)
// mountpoint, the most specific winning. Any rule can be disabled.
//
//   rules:
//     FilesystemAlmostFull:
//       warning: 90                      # global
//       overrides:
//         - match: { mountpoint: /var/backups }
//           warning: 97
//           critical: 99
//         - match: { host: web01, mountpoint: /boot }
//           enabled: false
//     HostCpuBusy:
//       overrides:
//         - match: { client: acme, label: "role=batch" }
//           enabled: false
import { z } from "zod";
import { parseDurationSeconds } from "../../../lib/settings.ts";

export interface RuleSettings {
  enabled: boolean;
  /** Fire thresholds per severity; a severity absent here does not fire. */
  warning?: number;
  critical?: number;
  /** Clear thresholds (hysteresis); default: the fire threshold minus the rule's margin. */
  warningClear?: number;
  criticalClear?: number;
  forSeconds: number;
  /** Change rules: how many reports establish what is normal (ListenerGone, ListenerNew). */
  minReports?: number;
  /** ProxmoxGuestDown: how long a guest locked for backup may be stopped before `for` starts counting. */
  graceSeconds?: number;
}

/**
 * A host as rules and their settings see it: its name in NetMap (the `host`
 * label of its alerts), where it is placed, its labels. The one declaration
 * every rule's context builds on.
 */
export interface HostScope {
  host: string;
  client?: string;
  site?: string;
  labels?: Readonly<Record<string, string>>;
}

/** What a setting's overrides match: the host, and for filesystem and storage rules the mountpoint. */
export type RuleScope = HostScope & { mountpoint?: string };

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || seconds < 0) {
    ctx.addIssue({ code: "custom", message: `expected a duration like 5m, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return seconds;
});

const settingsFields = {
  enabled: z.boolean(),
  warning: z.number(),
  critical: z.number(),
  warning_clear: z.number(),
  critical_clear: z.number(),
  for: duration,
  min_reports: z.number().int().min(1),
  grace: duration,
};

/** The rules that take `min_reports`; on any other it is refused, as an unknown setting is. */
export const MIN_REPORTS_RULES: ReadonlySet<string> = new Set(["ListenerGone", "ListenerNew"]);
/** The rules that take `grace`. */
export const GRACE_RULES: ReadonlySet<string> = new Set(["ProxmoxGuestDown"]);

/** Which hosts a setting is for: placed under a client or site, named, labelled; any given must all hold. */
const hostMatchFields = { client: z.string(), site: z.string(), host: z.string(), label: z.string().regex(/^[^=]+=.*$/, "expected name=value") };
export const hostMatchSchema = z.object(hostMatchFields).partial().strict();
export type HostMatch = z.output<typeof hostMatchSchema>;

const overrideSchema = z
  .object({
    match: z
      .object({ ...hostMatchFields, mountpoint: z.string() })
      .partial()
      .strict(),
    ...settingsFields,
  })
  .partial()
  .strict();

const ruleSchema = z
  .object({ ...settingsFields, overrides: z.array(overrideSchema) })
  .partial()
  .strict();

export const rulesConfigSchema = z.record(z.string(), ruleSchema).superRefine((rules, ctx) => {
  for (const [rule, settings] of Object.entries(rules)) {
    const all = [settings, ...(settings.overrides ?? [])];
    if (!GRACE_RULES.has(rule) && all.some((s) => s.grace !== undefined)) {
      ctx.addIssue({ code: "custom", path: [rule, "grace"], message: `grace applies only to ${[...GRACE_RULES].join(" and ")}` });
    }
    if (MIN_REPORTS_RULES.has(rule)) continue;
    const given = all.some((s) => s.min_reports !== undefined);
    if (given) ctx.addIssue({ code: "custom", path: [rule, "min_reports"], message: `min_reports applies only to ${[...MIN_REPORTS_RULES].join(" and ")}` });
  }
});
export type RulesConfig = z.output<typeof rulesConfigSchema>;
type SettingsInput = Partial<z.output<z.ZodObject<typeof settingsFields>>>;

/** The settings of one rule for one host (and mountpoint). Pure. */
export function settingsFor(rule: string, defaults: RuleSettings, config: RulesConfig, scope: RuleScope): RuleSettings {
  const ruleConfig = config[rule];
  if (!ruleConfig) return defaults;
  let settings = apply(defaults, ruleConfig);
  const matching = (ruleConfig.overrides ?? [])
    .map((override, index) => ({ override, index, specificity: specificity(override.match ?? {}) }))
    .filter(({ override }) => matches(override.match ?? {}, scope))
    // Least specific first, so the most specific is applied last; ties keep file order.
    .sort((a, b) => a.specificity - b.specificity || a.index - b.index);
  for (const { override } of matching) settings = apply(settings, override);
  return settings;
}

function apply(base: RuleSettings, given: SettingsInput): RuleSettings {
  return {
    enabled: given.enabled ?? base.enabled,
    forSeconds: given.for ?? base.forSeconds,
    ...defined("minReports", given.min_reports ?? base.minReports),
    ...defined("graceSeconds", given.grace ?? base.graceSeconds),
    ...defined("warning", given.warning ?? base.warning),
    ...defined("critical", given.critical ?? base.critical),
    // A new fire threshold without a clear threshold drops the old clear one: the rule's margin applies.
    ...defined("warningClear", given.warning_clear ?? (given.warning === undefined ? base.warningClear : undefined)),
    ...defined("criticalClear", given.critical_clear ?? (given.critical === undefined ? base.criticalClear : undefined)),
  };
}

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

type Match = NonNullable<z.output<typeof overrideSchema>["match"]>;

/** Host and mountpoint are more specific than label, label than site, site than client. */
function specificity(match: Match): number {
  return (match.client ? 1 : 0) + (match.site ? 2 : 0) + (match.label ? 4 : 0) + (match.host ? 8 : 0) + (match.mountpoint ? 16 : 0);
}

/** Whether a host (and mountpoint) is one a match names. Also what selects netmap.yaml's `checks:` for an agent. */
export function matches(match: Match | HostMatch, scope: RuleScope): boolean {
  if (match.client !== undefined && match.client !== scope.client) return false;
  if (match.site !== undefined && match.site !== scope.site) return false;
  if (match.host !== undefined && match.host !== scope.host) return false;
  if ("mountpoint" in match && match.mountpoint !== undefined && match.mountpoint !== scope.mountpoint) return false;
  if (match.label !== undefined) {
    const at = match.label.indexOf("=");
    if (scope.labels?.[match.label.slice(0, at)] !== match.label.slice(at + 1)) return false;
  }
  return true;
}
