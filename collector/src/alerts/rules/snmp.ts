// The network device rules, judged after each device poll has been stored: an interface an
// operator enabled that is down, errors, saturation (rate against speed), a device that stopped
// answering (debounced by `for`), a device whose sysUpTime went back. Pure: the stored device in,
// observations out; the engine decides pending/firing/resolved. Defaults are documented in
// docs/alerts.md; each can be overridden (../settings.ts).
//
// A device that did not answer gives only DeviceUnreachable: its interfaces are not known,
// so their alerts keep their state.
import type { StoredDevice, StoredInterface } from "../../snmp/store.ts";
import { thresholdObservation, type HostObservation, type Observation, type Severity } from "../engine.ts";
import { settingsFor, type RuleScope, type RuleSettings, type RulesConfig } from "../settings.ts";

export const INTERFACE_DOWN = "InterfaceDown";
export const INTERFACE_ERRORS = "InterfaceErrors";
export const INTERFACE_SATURATED = "InterfaceSaturated";
export const DEVICE_UNREACHABLE = "DeviceUnreachable";
export const DEVICE_REBOOTED = "DeviceRebooted";

export const SNMP_RULE_DEFAULTS: Readonly<Record<string, RuleSettings>> = {
  [INTERFACE_DOWN]: { enabled: true, forSeconds: 60 },
  // Errors per second, in and out together.
  [INTERFACE_ERRORS]: { enabled: true, warning: 1, warningClear: 0.1, forSeconds: 5 * 60 },
  // Percent of the interface's speed, the busier direction.
  [INTERFACE_SATURATED]: { enabled: true, warning: 90, warningClear: 80, forSeconds: 5 * 60 },
  // Two missed 60 s polls before paging: one lost UDP exchange is not a device down.
  [DEVICE_UNREACHABLE]: { enabled: true, forSeconds: 120 },
  [DEVICE_REBOOTED]: { enabled: true, forSeconds: 0 },
};

/** A rebooted device's alert resolves once it has been up this long. */
export const DEVICE_REBOOT_UPTIME_SECONDS = 15 * 60;

const DOWN = new Set(["down", "lowerLayerDown"]);

export function judgeDevice(device: StoredDevice, config: RulesConfig): HostObservation[] {
  const scope: RuleScope = { host: device.host, client: device.client, site: device.site };
  const settings = (rule: string) => settingsFor(rule, SNMP_RULE_DEFAULTS[rule]!, config, scope);
  const labels = { host: device.host, snmp: device.entry, address: device.address };
  const out: HostObservation[] = [];
  const put = (observation: Observation) => out.push({ hostId: device.hostId, observation });

  const unreachable = settings(DEVICE_UNREACHABLE);
  if (unreachable.enabled) {
    put({
      rule: DEVICE_UNREACHABLE, severity: "critical", labels,
      annotations: { summary: device.reachable ? `${device.host} (${device.address}) answers SNMP` : `${device.host} (${device.address}) does not answer SNMP: ${device.error ?? "no answer"}` },
      value: device.failures, active: !device.reachable, cleared: device.reachable, forSeconds: unreachable.forSeconds,
    });
  }
  if (!device.reachable) return out;

  const rebooted = settings(DEVICE_REBOOTED);
  if (rebooted.enabled && device.uptimeSeconds !== null) {
    const wentBack = device.previousUptimeSeconds !== null && device.uptimeSeconds < device.previousUptimeSeconds;
    // Fired when sysUpTime goes back; between that and 15 minutes of uptime, neither fired nor resolved.
    put({
      rule: DEVICE_REBOOTED, severity: "warning", labels,
      annotations: { summary: `${device.host} restarted ${Math.round(device.uptimeSeconds)} s ago (sysUpTime went back)` },
      value: device.uptimeSeconds, active: wentBack, cleared: device.uptimeSeconds >= DEVICE_REBOOT_UPTIME_SECONDS, forSeconds: rebooted.forSeconds,
    });
  }
  for (const i of device.interfaces) out.push(...judgeInterface(device, i, settings).map((observation) => ({ hostId: device.hostId, observation })));
  return out;
}

function judgeInterface(device: StoredDevice, i: StoredInterface, settings: (rule: string) => RuleSettings): Observation[] {
  const labels = { host: device.host, snmp: device.entry, interface: i.name, ifindex: String(i.ifIndex) };
  const out: Observation[] = [];
  const down = settings(INTERFACE_DOWN);
  // Only an interface someone enabled: an admin-down port is shut on purpose, an unknown status is not judged.
  if (down.enabled && i.adminUp !== null && i.oper !== null) {
    const active = i.adminUp && DOWN.has(i.oper);
    out.push({
      rule: INTERFACE_DOWN, severity: "critical", labels,
      annotations: { summary: active ? `interface ${i.name} of ${device.host} is ${i.oper} (admin up)` : `interface ${i.name} of ${device.host} is ${i.oper}` },
      value: active ? 1 : 0, active, cleared: !active, forSeconds: down.forSeconds,
    });
  }
  const threshold = (rule: string, value: number | null, summary: (v: number) => string) => {
    const s = settings(rule);
    if (!s.enabled || value === null) return;
    for (const severity of ["warning", "critical"] as const satisfies readonly Severity[]) {
      const fire = s[severity];
      if (fire === undefined) continue;
      const clear = s[`${severity}Clear`] ?? fire - Math.abs(fire) * 0.05;
      out.push(thresholdObservation({ rule, severity, labels, annotations: { summary: summary(value) }, value, forSeconds: s.forSeconds }, { direction: "above", fire, clear }));
    }
  };
  const errors = i.inErrorsPerSecond === null && i.outErrorsPerSecond === null ? null : (i.inErrorsPerSecond ?? 0) + (i.outErrorsPerSecond ?? 0);
  threshold(INTERFACE_ERRORS, errors, (v) => `interface ${i.name} of ${device.host} has ${v.toFixed(2)} errors/s`);
  const busiest = i.inBps === null && i.outBps === null ? null : Math.max(i.inBps ?? 0, i.outBps ?? 0);
  const used = busiest === null || !i.speedBps ? null : (busiest / i.speedBps) * 100;
  threshold(INTERFACE_SATURATED, used, (v) => `interface ${i.name} of ${device.host} is at ${v.toFixed(1)}% of its speed`);
  return out;
}
