// The topology operations the collector serves, one implementation for both transports:
// HTTP (http/topology.ts, http/map.ts) and gRPC (grpc/service.ts) are thin layers over these.
import type { Db } from "../db/database.ts";
import type { StatusThresholds } from "../hosts/status.ts";
import { formatTopologyFile, parseTopologyFile } from "./file.ts";
import { renderSvg, topologyToDot, type DotOptions } from "./graph.ts";
import { ansibleInventory, type AnsibleInventory } from "./inventory.ts";
import type { Hop, Topology } from "./model.ts";
import { adoptHost, type Adoption, type AdoptRequest } from "./adoption.ts";
import { importTopology, loadTopology, type ImportResult } from "./repository.ts";
import { findHost, qualifiedName, routeFrom, routeTo } from "./routes.ts";
import { renderTopologySshConfig } from "./ssh-config.ts";

export const GRAPH_FORMATS = ["dot", "svg"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The topology drawn: DOT source, or SVG laid out in-process. */
export async function drawTopology(topology: Topology, format: GraphFormat, options: DotOptions = {}): Promise<string> {
  const dot = topologyToDot(topology, options);
  return format === "svg" ? renderSvg(dot) : dot;
}

export function inventoryOf(topology: Topology): AnsibleInventory {
  return ansibleInventory(topology, routeFrom);
}

export interface TopologyService {
  /** Every host, those no person placed under `unassigned`, with monitoring status. */
  topology(): Promise<Topology>;
  /** Parses a topology file (errors name fileName) and merges it in one transaction. */
  importFile(text: string, fileName: string): Promise<ImportResult>;
  /** The placed hosts as a topology file. */
  exportFile(): Promise<string>;
  route(host: string): Promise<Hop[]>;
  /** Host blocks pinning keys in knownHostsFile (the caller's NetMap known_hosts), if given. */
  sshConfig(knownHostsFile?: string): Promise<string>;
  graph(format: GraphFormat, options?: DotOptions): Promise<string>;
  inventory(): Promise<AnsibleInventory>;
  /** A person vouches for a host (NAME, SITE/NAME or CLIENT/SITE/NAME): its agent and SSH address. */
  adopt(host: string, request: AdoptRequest): Promise<Adoption & { host: string }>;
  /** The host a reference (NAME, SITE/NAME or CLIENT/SITE/NAME) names: its id and CLIENT/SITE/NAME. */
  locate(host: string): Promise<{ id: number; host: string }>;
}

export function topologyService(db: Db, thresholds: StatusThresholds): TopologyService {
  const topology = () => loadTopology(db, { includeUnassigned: true, thresholds, networkLinks: true });
  return {
    topology,
    importFile: (text, fileName) => importTopology(db, parseTopologyFile(text, fileName)),
    exportFile: async () => formatTopologyFile(await loadTopology(db)),
    route: async (host) => routeTo(await topology(), host),
    sshConfig: async (knownHostsFile) => renderTopologySshConfig(await topology(), { knownHostsFile }),
    graph: async (format, options) => drawTopology(await topology(), format, options),
    inventory: async () => inventoryOf(await topology()),
    adopt: async (reference, request) => {
      const located = findHost(await topology(), reference);
      return { host: qualifiedName(located), ...(await adoptHost(db, located.host.id!, request)) };
    },
    locate: async (reference) => {
      const located = findHost(await topology(), reference);
      return { id: located.host.id!, host: qualifiedName(located) };
    },
  };
}
