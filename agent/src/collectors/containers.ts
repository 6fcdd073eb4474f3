// Containers through the Engine API (engine-api.ts): the list, each one's
// inspect (health, restarts, start) and, for running ones, one stats sample
// (CPU as a rate against the previous cycle's sample). Pure parse functions
// below take the engine's JSON as recorded.
import type { Container } from "../../../proto/gen/netmap/v1/report.ts";
import { engineGet, engineName, findEngineSocket } from "../engine-api.ts";
import type { Collector } from "./types.ts";

interface ListEntry {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
  Ports?: Array<{ IP?: string; PrivatePort?: number; PublicPort?: number; Type?: string }>;
}

interface Inspect {
  RestartCount?: number;
  State?: { Status?: string; StartedAt?: string; ExitCode?: number; Health?: { Status?: string } };
}

interface Stats {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/** A stats sample kept for the next cycle's CPU rate. */
export interface CpuSample {
  container: number;
  system: number;
}

/** Published ports as `docker ps` shows them: "0.0.0.0:8080->80/tcp", or "80/tcp" when not published. */
export function formatPorts(ports: ListEntry["Ports"]): string[] {
  return [...new Set((ports ?? []).map((p) => (p.PublicPort ? `${p.IP ? `${p.IP.includes(":") ? `[${p.IP}]` : p.IP}:` : ""}${p.PublicPort}->` : "") + `${p.PrivatePort}/${p.Type ?? "tcp"}`))].sort();
}

/** A timestamp the engine gave, or undefined for Go's zero time ("0001-01-01T00:00:00Z": never started). */
function startedAt(value: string | undefined): Date | undefined {
  const ms = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) || ms <= 0 ? undefined : new Date(ms);
}

/** One container's report entry from its list entry, inspect and (running) stats; CPU against `previous`. */
export function containerInfo(entry: ListEntry, inspect: Inspect, stats: Stats | undefined, previous: CpuSample | undefined, engine: string): { container: Container; sample?: CpuSample } {
  const state = inspect.State?.Status ?? entry.State ?? "";
  const container: Container = {
    id: entry.Id.toLowerCase(),
    name: (entry.Names?.[0] ?? entry.Id.slice(0, 12)).replace(/^\//, ""),
    image: entry.Image ?? "",
    state,
    health: inspect.State?.Health?.Status ?? "",
    restartCount: inspect.RestartCount ?? 0,
    startedAt: startedAt(inspect.State?.StartedAt),
    exitCode: state === "exited" || state === "dead" ? inspect.State?.ExitCode : undefined,
    ports: formatPorts(entry.Ports),
    cpuPercent: undefined, memoryUsedBytes: undefined, memoryLimitBytes: undefined, networkRxBytes: undefined, networkTxBytes: undefined,
    engine,
  };
  if (!stats) return { container };
  const cpu = stats.cpu_stats;
  const sample = cpu?.cpu_usage?.total_usage !== undefined && cpu.system_cpu_usage !== undefined ? { container: cpu.cpu_usage.total_usage, system: cpu.system_cpu_usage } : undefined;
  if (sample && previous && sample.system > previous.system && sample.container >= previous.container) {
    // Docker's own formula (docker stats): share of the host's CPU time, times its CPUs.
    container.cpuPercent = ((sample.container - previous.container) / (sample.system - previous.system)) * (cpu?.online_cpus ?? 1) * 100;
  }
  const memory = stats.memory_stats;
  if (memory?.usage !== undefined) {
    const inactive = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
    container.memoryUsedBytes = Math.max(0, memory.usage - inactive);
    container.memoryLimitBytes = memory.limit;
  }
  const networks = Object.values(stats.networks ?? {});
  if (networks.length) {
    container.networkRxBytes = networks.reduce((sum, n) => sum + (n.rx_bytes ?? 0), 0);
    container.networkTxBytes = networks.reduce((sum, n) => sum + (n.tx_bytes ?? 0), 0);
  }
  return { container, sample };
}

/** The containers of the engine at `containers:` (auto: the first socket there is); nothing when there is none. */
export function containersCollector(setting: string): Collector {
  let engine: { socket: string; name: string } | undefined;
  const cpu = new Map<string, CpuSample>();
  return {
    name: "containers",
    async collect() {
      const socket = findEngineSocket(setting);
      if (socket === undefined) return {};
      if (engine?.socket !== socket) engine = { socket, name: await engineName(socket) };
      const list = (await engineGet(socket, "/containers/json?all=true")) as ListEntry[];
      const containers: Container[] = [];
      const seen = new Set<string>();
      for (const entry of list) {
        const id = encodeURIComponent(entry.Id);
        // A container removed between the list and its inspect is simply not reported.
        const inspect = (await engineGet(socket, `/containers/${id}/json`).catch(() => undefined)) as Inspect | undefined;
        if (!inspect) continue;
        const running = (inspect.State?.Status ?? entry.State) === "running";
        const stats = running ? ((await engineGet(socket, `/containers/${id}/stats?stream=false&one-shot=true`).catch(() => undefined)) as Stats | undefined) : undefined;
        const { container, sample } = containerInfo(entry, inspect, stats, cpu.get(entry.Id), engine.name);
        if (sample) cpu.set(entry.Id, sample);
        seen.add(entry.Id);
        containers.push(container);
      }
      for (const id of cpu.keys()) if (!seen.has(id)) cpu.delete(id);
      return { containers };
    },
  };
}
