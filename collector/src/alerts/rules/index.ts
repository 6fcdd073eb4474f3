// Every built-in alert rule, by family; each family is one file here:
//
//   thresholds.ts  a report's value past a threshold: HostCpuBusy, HostMemoryLow,
//                  HostSwapHeavy, HostLoadHigh, FilesystemAlmostFull,
//                  FilesystemInodesLow, FilesystemFillingUp; and from checks.ts,
//                  the agent's synthetic checks: CheckFailed, CertificateExpiring;
//                  from ssh.ts, the auth log: SSHBruteForce
//   absence.ts     no report: HostDown
//   changes.ts     what changed since the previous report: HostRebooted,
//                  ListenerGone, ListenerNew, AddressChanged
//   proxmox.ts     a stored discovery cycle: ProxmoxNodeDown, ProxmoxGuestDown,
//                  ProxmoxStorageFilling
//   backups.ts     the same cycle's backup coverage: BackupMissing, BackupTooOld,
//                  BackupJobFailed
//   proxmox-health.ts  its storage and cluster health: ZfsPoolDegraded, ZfsPoolErrors,
//                  ReplicationFailed, HaServiceError, ClusterQuorumLost, CephHealth*
//   snmp.ts        a stored network device poll: InterfaceDown, InterfaceErrors,
//                  InterfaceSaturated, DeviceUnreachable, DeviceRebooted
//   containers.ts  the agent's containers: ContainerDown, ContainerRestarting,
//                  ContainerUnhealthy
//   topology.ts    HostDown seen through the topology: SiteUnreachable, and the
//                  HostDown of hosts behind a down parent inhibited
//   watchdog.ts    always firing, the heartbeat for a dead man's switch: Watchdog
//   versions.ts    an agent older than the fleet's newest: AgentVersionSkew
//
// A rule's name, labels and defaults are its identity: alerts in a database
// are found again by the fingerprint of name and labels, and `rules:` in
// netmap.yaml overrides by name (../settings.ts). docs/alerts.md documents
// the defaults listed here.
import type { RuleSettings } from "../settings.ts";
import { HOST_DOWN, HOST_DOWN_DEFAULTS } from "./absence.ts";
import { CHANGE_DEFAULTS } from "./changes.ts";
import { CONTAINER_RULE_DEFAULTS } from "./containers.ts";
import { PROXMOX_RULE_DEFAULTS } from "./proxmox.ts";
import { SNMP_RULE_DEFAULTS } from "./snmp.ts";
import { BACKUP_RULE_DEFAULTS } from "./backups.ts";
import { PROXMOX_HEALTH_DEFAULTS } from "./proxmox-health.ts";
import { THRESHOLD_RULES } from "./thresholds.ts";
import { TOPOLOGY_RULE_DEFAULTS } from "./topology.ts";
import { VERSION_RULE_DEFAULTS } from "./versions.ts";
import { WATCHDOG, WATCHDOG_DEFAULTS } from "./watchdog.ts";

export type RuleFamily = "threshold" | "absence" | "change" | "proxmox" | "snmp" | "topology" | "container" | "heartbeat" | "agent";

export interface RuleDefinition {
  name: string;
  family: RuleFamily;
  defaults: RuleSettings;
}

const family = (name: RuleFamily, defaults: Readonly<Record<string, RuleSettings>>): RuleDefinition[] =>
  Object.entries(defaults).map(([rule, settings]) => ({ name: rule, family: name, defaults: settings }));

export const RULES: readonly RuleDefinition[] = [
  ...THRESHOLD_RULES.map((r): RuleDefinition => ({ name: r.name, family: "threshold", defaults: r.defaults })),
  { name: HOST_DOWN, family: "absence", defaults: HOST_DOWN_DEFAULTS },
  ...family("change", CHANGE_DEFAULTS),
  ...family("proxmox", PROXMOX_RULE_DEFAULTS),
  ...family("proxmox", BACKUP_RULE_DEFAULTS),
  ...family("proxmox", PROXMOX_HEALTH_DEFAULTS),
  ...family("snmp", SNMP_RULE_DEFAULTS),
  ...family("topology", TOPOLOGY_RULE_DEFAULTS),
  ...family("container", CONTAINER_RULE_DEFAULTS),
  { name: WATCHDOG, family: "heartbeat", defaults: WATCHDOG_DEFAULTS },
  ...family("agent", VERSION_RULE_DEFAULTS),
];

const byName = new Map(RULES.map((r) => [r.name, r]));

/** The family of a built-in rule; undefined for a name no rule has. */
export function ruleFamily(name: string): RuleFamily | undefined {
  return byName.get(name)?.family;
}
