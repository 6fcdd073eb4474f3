// The agent version rule: AgentVersionSkew, a host whose agent runs an older version than the
// newest any agent of the fleet reports, for longer than an upgrade takes (`for`, 1 h): a host
// an upgrade left behind (it was down, it failed, it was not named). The evaluator keeps each
// host's latest agent version; pure: a host's report and the fleet's newest version in,
// observations out.
import type { HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import type { HostObservation } from "../engine.ts";
import { settingsFor, type HostScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const AGENT_VERSION_SKEW = "AgentVersionSkew";
export const VERSION_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = { [AGENT_VERSION_SKEW]: { enabled: true, forSeconds: 3600 } };

/**
 * Orders versions as semver does where it can: numeric dot-separated parts compared as numbers,
 * a pre-release (after "-") before its release; build metadata (after "+") ignored. Anything
 * else compares as text, so the order is total.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = "", ...pre] = v.split("+")[0]!.split("-");
    return { core: core.split("."), pre: pre.join("-") };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.core.length, y.core.length); i++) {
    const p = x.core[i] ?? "0";
    const q = y.core[i] ?? "0";
    const diff = /^\d+$/.test(p) && /^\d+$/.test(q) ? Number(p) - Number(q) : p.localeCompare(q);
    if (diff) return Math.sign(diff);
  }
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return Math.sign(x.pre.localeCompare(y.pre, "en", { numeric: true }));
}

export function newestVersion(versions: Iterable<string>): string | undefined {
  let newest: string | undefined;
  for (const v of versions) if (v && (newest === undefined || compareVersions(v, newest) > 0)) newest = v;
  return newest;
}

export function judgeVersionSkew(host: HostScope & { hostId: number; report: HostReport }, newest: string | undefined, config: RulesConfig): HostObservation[] {
  const settings = settingsFor(AGENT_VERSION_SKEW, VERSION_RULE_DEFAULTS[AGENT_VERSION_SKEW]!, config, host);
  const version = host.report.agentVersion;
  if (!settings.enabled || !version || newest === undefined) return [];
  const behind = compareVersions(version, newest) < 0;
  return [
    {
      hostId: host.hostId,
      observation: {
        rule: AGENT_VERSION_SKEW,
        severity: "warning",
        labels: { host: host.host },
        annotations: {
          summary: `${host.host} runs netmap-agent ${version}; the newest in the fleet is ${newest}`,
          description: `netmap agent upgrade ${host.host} brings it to the version the rest run (docs/upgrades.md).`,
        },
        value: behind ? 1 : 0,
        active: behind,
        cleared: !behind,
        forSeconds: settings.forSeconds,
      },
    },
  ];
}
