// `checks:` in netmap.yaml: synthetic checks given per host, client, site or label,
// which each selected agent fetches over NATS (responder.ts) and runs beside the
// checks of its own agent.yaml. An entry is a check as agent.yaml writes it
// (proto/src/check-config.ts) with a `match:` as the rules' overrides write it;
// no match: every agent.
//
//   checks:
//     - { name: shop, type: http, url: https://shop.example/health, match: { label: "role=web" } }
//     - { name: db, type: tcp, address: 10.0.0.5:5432, interval: 1m, match: { client: acme } }
import { z } from "zod";
import { parseCheckEntries, type CheckEntry } from "../../../proto/src/check-config.ts";
import { hostMatchSchema, matches, type HostMatch, type HostScope } from "../alerts/settings.ts";

/** One entry: the check as an agent receives it, and which hosts it is for. */
export interface CollectorCheck {
  readonly check: CheckEntry;
  readonly match: HostMatch;
}

/** The file's form; each check's own fields are checked by parseChecks (collectorChecks), as the agent checks them. */
export const checksConfigSchema = z.array(z.object({ match: hostMatchSchema.optional() }).catchall(z.unknown()));

/**
 * The entries of netmap.yaml's `checks:`, each validated as an agent will validate it
 * (names unique across the file: one host may be selected by several entries);
 * a ConfigError naming `checks[i].field in FILE` otherwise.
 */
export function collectorChecks(entries: z.output<typeof checksConfigSchema>, file: string): CollectorCheck[] {
  const { entries: checks } = parseCheckEntries(entries.map(({ match: _, ...check }) => check), file);
  return entries.map((entry, i) => ({ check: checks[i]!, match: entry.match ?? {} }));
}

/** The checks for one host, in file order; for an agent whose host is not known yet, those without a match. */
export function checksFor(checks: readonly CollectorCheck[], scope: HostScope | null): CheckEntry[] {
  return checks.filter((c) => (scope ? matches(c.match, scope) : Object.keys(c.match).length === 0)).map((c) => c.check);
}
