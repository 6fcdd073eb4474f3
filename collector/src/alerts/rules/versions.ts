// The agent version rule: AgentVersionSkew, a host whose agent runs an older version than the
// newest any agent of the fleet reports, for longer than an upgrade takes (`for`, 1 h): a host
// an upgrade left behind (it was down, it failed, it was not named). The evaluator keeps each
// host's latest agent version; pure: a host's report and the fleet's newest version in,
// observations out.
import type { HostReport } from "../../../../proto/gen/netmap/v1/report.ts";
import type { HostObservation } from "../engine.ts";
import { settingsFor, type HostScope, type RuleSettings, type RulesConfig } from "../settings.ts";
import { compareVersions } from "../../../../proto/src/release.ts";

export const AGENT_VERSION_SKEW = "AgentVersionSkew";
export const VERSION_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = { [AGENT_VERSION_SKEW]: { enabled: true, forSeconds: 3600 } };

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
