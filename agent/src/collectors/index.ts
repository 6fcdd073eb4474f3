// Every collector, in collection order (the order of CollectorRun entries).
import type { CheckRunner } from "../checks/runner.ts";
import { checksCollector } from "./checks.ts";
import { containersCollector } from "./containers.ts";
import { sshAuthCollector } from "./ssh-auth.ts";
import { fail2banReader } from "../fail2ban.ts";
import { cpuCollector } from "./cpu.ts";
import { disksCollector } from "./disks.ts";
import { interfacesCollector } from "./interfaces.ts";
import { listenersCollector } from "./listeners.ts";
import { memoryCollector } from "./memory.ts";
import { mountsCollector } from "./mounts.ts";
import { osCollector } from "./os.ts";
import type { Collector } from "./types.ts";

export const collectors: readonly Collector[] = [
  osCollector,
  cpuCollector,
  memoryCollector,
  disksCollector,
  mountsCollector,
  listenersCollector,
  interfacesCollector,
];

/** The collectors of this configuration: those that only some need (checks, the auth log) join the list only when configured. */
export function configuredCollectors(options: { checks?: CheckRunner; authLog: string; authLogWindowSeconds: number; fail2banSocket?: string; containers: string }): readonly Collector[] {
  return [
    ...collectors,
    ...(options.containers !== "off" ? [containersCollector(options.containers)] : []),
    ...(options.checks ? [checksCollector(options.checks)] : []),
    ...(options.authLog !== "off" ? [sshAuthCollector(options.authLog, options.authLogWindowSeconds, fail2banReader({ socket: options.fail2banSocket }))] : []),
  ];
}
