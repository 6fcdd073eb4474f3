// Containers through the Engine API (engine-api.ts): the list, each one's
// inspect (health, restarts, start, main process). A running one's CPU, memory
// and network come from its cgroup and network namespace through that process
// (container-usage.ts), or, where the agent cannot see those, from one stats
// sample of the engine's; CPU is a rate against the previous cycle either way.
// Pure parse functions below take the engine's JSON as recorded.
import type { Container, ContainerNetwork } from "../../../proto/gen/netmap/v1/report.ts";
import type { ContainerCgroup } from "../container-usage.ts";
import { engineGet, engineName, findEngineSocket, followEngineEvents, type EngineEvent } from "../engine-api.ts";
import type { Collector } from "./types.ts";

interface ListEntry {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
  /** "Up 5 minutes (healthy)", "Restarting (3) 2 seconds ago", "Exited (137) 1 second ago". */
  Status?: string;
  Ports?: Array<{ IP?: string; PrivatePort?: number; PublicPort?: number; Type?: string }>;
  Labels?: Record<string, string> | null;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string; MacAddress?: string }> | null };
}

interface Inspect {
  RestartCount?: number;
  State?: { Status?: string; StartedAt?: string; ExitCode?: number; Pid?: number; Health?: { Status?: string } };
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

/** Each network the container is attached to, by name: its IPv4 address (else IPv6) and MAC, empty when the engine gave none. */
export function containerNetworks(entry: ListEntry): ContainerNetwork[] {
  return Object.entries(entry.NetworkSettings?.Networks ?? {})
    .map(([name, n]) => ({ name, address: n.IPAddress || n.GlobalIPv6Address || "", mac: (n.MacAddress ?? "").toLowerCase() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A timestamp the engine gave, or undefined for Go's zero time ("0001-01-01T00:00:00Z": never started). */
function startedAt(value: string | undefined): Date | undefined {
  const ms = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) || ms <= 0 ? undefined : new Date(ms);
}

/** CPU per cent of one core between two stats samples, as `docker stats` computes it; undefined without a usable previous one. */
export function cpuPercent(stats: Stats, previous: CpuSample | undefined): { percent?: number; sample?: CpuSample } {
  const cpu = stats.cpu_stats;
  if (cpu?.cpu_usage?.total_usage === undefined || cpu.system_cpu_usage === undefined) return {};
  const sample = { container: cpu.cpu_usage.total_usage, system: cpu.system_cpu_usage };
  // A restarted container's counter goes back: no rate across it.
  if (!previous || sample.system <= previous.system || sample.container < previous.container) return { sample };
  return { sample, percent: ((sample.container - previous.container) / (sample.system - previous.system)) * (cpu.online_cpus ?? 1) * 100 };
}

/** A running container's latest figures, from its cgroup or the engine's stats. */
export type ContainerFigures = Pick<Container, "cpuPercent" | "memoryUsedBytes" | "memoryLimitBytes" | "networkRxBytes" | "networkTxBytes">;

/** The figures of an Engine API stats sample. */
export function statsFigures(stats: Stats, cpuPercent: number | undefined): ContainerFigures {
  const figures: ContainerFigures = { cpuPercent, memoryUsedBytes: undefined, memoryLimitBytes: undefined, networkRxBytes: undefined, networkTxBytes: undefined };
  const memory = stats.memory_stats;
  if (memory?.usage !== undefined) {
    const inactive = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
    figures.memoryUsedBytes = Math.max(0, memory.usage - inactive);
    figures.memoryLimitBytes = memory.limit;
  }
  const networks = Object.values(stats.networks ?? {});
  if (networks.length) {
    figures.networkRxBytes = networks.reduce((sum, n) => sum + (n.rx_bytes ?? 0), 0);
    figures.networkTxBytes = networks.reduce((sum, n) => sum + (n.tx_bytes ?? 0), 0);
  }
  return figures;
}

/** CPU per cent of one core from two readings of a cgroup's CPU time; undefined without a usable earlier one. */
export function cgroupCpuPercent(now: { cpuSeconds: number; atSeconds: number }, previous: { cpuSeconds: number; atSeconds: number } | undefined): number | undefined {
  if (!previous || now.atSeconds <= previous.atSeconds || now.cpuSeconds < previous.cpuSeconds) return undefined;
  return ((now.cpuSeconds - previous.cpuSeconds) / (now.atSeconds - previous.atSeconds)) * 100;
}

/** One container's report entry from its list entry, inspect and (running) latest figures. */
export function containerInfo(entry: ListEntry, inspect: Inspect, figures: ContainerFigures | undefined, engine: string): Container {
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
    networks: containerNetworks(entry),
    labels: { ...(entry.Labels ?? {}) },
  };
  // Figures of a run that has ended are not shown.
  return figures && state === "running" ? { ...container, ...figures } : container;
}

/** What the engine's event stream says since the containers were last listed. */
interface EngineWatch {
  /** The stream is open: a change the engine makes shows up as an event. */
  open: boolean;
  /** Something changed since the last list (or the stream just opened, and what changed before it is unknown). */
  changed: boolean;
  /** Containers an event named: inspected again at the next list. */
  ids: Set<string>;
  /** The stream has been open since the last list, so every change since came as an event. */
  covered: boolean;
  /** When the stream was asked for, to ask again at most every EVENTS_RETRY_SECONDS once it failed. */
  atSeconds: number;
  stop(): void;
}

const EVENTS_RETRY_SECONDS = 30;

/** Whether an event can change what the agent reports: a healthcheck's exec_create/exec_start/exec_die cannot. */
export function eventChanges(event: EngineEvent): boolean {
  return !event.Action?.startsWith("exec_");
}

/** The container an event is about: a container event's actor, a network event's `container` attribute. */
export function eventContainer(event: EngineEvent): string | undefined {
  return event.Type === "network" ? event.Actor?.Attributes?.container : event.Actor?.ID;
}

/**
 * The containers of the engine at `containers:` (auto: the first socket there is); nothing
 * when there is none. The engine's event stream is followed: while it is open, the list and
 * the inspects are asked for again only after an event (start, die, health_status, rename,
 * network connect, ...), and a cycle with none costs no request; while it is not, every cycle
 * lists. A running container's figures come from its cgroup, found once per main process.
 * Where the agent cannot see that, the engine answers a stats request at its next 1 s
 * collection tick, so stats are fetched for those containers all at once, in the background:
 * a report carries the latest round's figures (the first report waits for its round).
 */
export function containersCollector(setting: string): Collector {
  let engine: { socket: string; name: string } | undefined;
  let watch: EngineWatch | undefined;
  /** The last list, each entry with its inspect. */
  let listed: Array<{ entry: ListEntry; inspect: Inspect }> | undefined;
  const figures = new Map<string, ContainerFigures>();
  const samples = new Map<string, CpuSample>();
  const cgroupSamples = new Map<string, { cpuSeconds: number; atSeconds: number }>();
  const inspects = new Map<string, { key: string; inspect: Inspect }>();
  const cgroups = new Map<string, { pid: number; cgroup: ContainerCgroup | undefined }>();
  let round: Promise<void> | undefined;

  const statsRound = (socket: string, ids: string[]) =>
    (round ??= Promise.all(ids.map(async (id) => {
      const stats = (await engineGet(socket, `/containers/${encodeURIComponent(id)}/stats?stream=false&one-shot=true`).catch(() => undefined)) as Stats | undefined;
      if (!stats) return;
      const { percent, sample } = cpuPercent(stats, samples.get(id));
      if (sample) samples.set(id, sample);
      figures.set(id, statsFigures(stats, percent));
    })).then(() => {
      round = undefined;
    }));

  const follow = (socket: string, atSeconds: number): EngineWatch => {
    const next: EngineWatch = { open: false, changed: true, ids: new Set(), covered: false, atSeconds, stop: () => {} };
    next.stop = followEngineEvents(socket, {
      open: () => {
        next.open = true;
        next.changed = true;
      },
      event: (event) => {
        if (!eventChanges(event)) return;
        next.changed = true;
        const id = eventContainer(event);
        if (id) next.ids.add(id);
      },
      end: () => {
        next.open = false;
        next.covered = false;
      },
    });
    return next;
  };

  /**
   * The list and each entry's inspect. An entry's inspect is asked for again when an event named
   * it; when events may have been missed since the last list (`covered` false), also when the
   * list's status text changed, which it does with every state, health or restart change (and
   * with the uptime it shows).
   */
  const list = async (socket: string, named: ReadonlySet<string>, covered: boolean) => {
    const entries = (await engineGet(socket, "/containers/json?all=true")) as ListEntry[];
    const inspected: Array<{ entry: ListEntry; inspect: Inspect }> = [];
    for (const entry of entries) {
      const key = `${entry.State}\u0000${entry.Status}`;
      const cached = inspects.get(entry.Id);
      let inspect = cached && (covered || cached.key === key) && !named.has(entry.Id) ? cached.inspect : undefined;
      // A container removed between the list and its inspect is simply not reported.
      inspect ??= (await engineGet(socket, `/containers/${encodeURIComponent(entry.Id)}/json`).catch(() => undefined)) as Inspect | undefined;
      if (!inspect) continue;
      inspects.set(entry.Id, { key, inspect });
      inspected.push({ entry, inspect });
    }
    return inspected;
  };

  return {
    name: "containers",
    async collect(source) {
      const socket = findEngineSocket(setting);
      if (socket !== engine?.socket) {
        watch?.stop();
        watch = undefined;
        listed = undefined;
      }
      if (socket === undefined) return {};
      if (engine?.socket !== socket) engine = { socket, name: await engineName(socket) };
      const atSeconds = source.monotonicSeconds();
      if (!watch || (!watch.open && atSeconds - watch.atSeconds >= EVENTS_RETRY_SECONDS)) {
        watch?.stop();
        watch = follow(socket, atSeconds);
      }
      if (!listed || !watch.open || watch.changed) {
        // Taken before the list is asked for: an event during it counts for the next cycle.
        const named = watch.ids;
        const covered = watch.covered && listed !== undefined;
        watch.ids = new Set();
        watch.changed = false;
        watch.covered = watch.open;
        try {
          listed = await list(socket, named, covered);
        } catch (error) {
          watch.changed = true;
          watch.covered = false;
          for (const id of named) watch.ids.add(id);
          throw error;
        }
      }
      const inspected = listed;
      const running = inspected.filter(({ entry, inspect }) => (inspect.State?.Status ?? entry.State) === "running");
      // Through the cgroup where the agent sees it; the engine's stats for the others.
      const viaStats: string[] = [];
      const firstCycle = figures.size === 0;
      let machineMemory: number | undefined;
      for (const { entry, inspect } of running) {
        const pid = inspect.State?.Pid ?? 0;
        let found = cgroups.get(entry.Id);
        if (found?.pid !== pid) cgroups.set(entry.Id, (found = { pid, cgroup: source.containerCgroup(pid) }));
        const usage = found.cgroup && source.containerUsage(pid, found.cgroup);
        if (!usage) {
          viaStats.push(entry.Id);
          continue;
        }
        const now = usage.cpuSeconds === undefined ? undefined : { cpuSeconds: usage.cpuSeconds, atSeconds };
        const cpu = now && cgroupCpuPercent(now, cgroupSamples.get(entry.Id));
        if (now) cgroupSamples.set(entry.Id, now);
        // No limit: the machine's memory, as the Engine API answers.
        const memoryLimitBytes = usage.memoryLimitBytes ?? (machineMemory ??= ((await source.meminfo()).MemTotal ?? Number.NaN) * 1024);
        figures.set(entry.Id, {
          cpuPercent: cpu, memoryUsedBytes: usage.memoryUsedBytes, memoryLimitBytes: Number.isNaN(memoryLimitBytes) ? undefined : memoryLimitBytes,
          networkRxBytes: usage.networkRxBytes, networkTxBytes: usage.networkTxBytes,
        });
      }
      const pending = viaStats.length ? statsRound(socket, viaStats) : undefined;
      if (firstCycle) await pending;
      const present = new Set(inspected.map(({ entry }) => entry.Id));
      for (const map of [figures, samples, cgroupSamples, inspects, cgroups]) for (const id of map.keys()) if (!present.has(id)) map.delete(id);
      // Listed: the collector may take a container missing from this list as gone.
      return {
        containers: inspected.map(({ entry, inspect }) => containerInfo(entry, inspect, figures.get(entry.Id), engine!.name)),
        containerEngine: { name: engine.name, socket },
      };
    },
  };
}
