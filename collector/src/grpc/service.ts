// NetMapAdmin's methods: each a thin call into the same functions the HTTP API uses.
import {
  GraphFormat,
  type ExportResponse,
  type GraphRequest,
  type GraphResponse,
  type ImportRequest,
  type ImportResponse,
  type InventoryResponse,
  type ListHostsResponse,
  type RouteRequest,
  type RouteResponse,
  type SshConfigRequest,
  type SshConfigResponse,
} from "../../../proto/gen/netmap/v1/admin.ts";
import type { Db } from "../db/database.ts";
import { BadRequestError } from "../errors.ts";
import { listHosts } from "../hosts/repository.ts";
import type { StatusThresholds } from "../hosts/status.ts";
import type { TopologyService } from "../topology/service.ts";
import { hopToMessage, hostToMessage } from "./messages.ts";

export interface AdminDeps {
  db: Db;
  thresholds: StatusThresholds;
  topology: TopologyService;
}

/** The methods as plain async functions; server.ts adds the token check and error mapping. */
export interface AdminMethods {
  import(request: ImportRequest): Promise<ImportResponse>;
  export(request: object): Promise<ExportResponse>;
  listHosts(request: object): Promise<ListHostsResponse>;
  route(request: RouteRequest): Promise<RouteResponse>;
  sshConfig(request: SshConfigRequest): Promise<SshConfigResponse>;
  graph(request: GraphRequest): Promise<GraphResponse>;
  inventory(request: object): Promise<InventoryResponse>;
}

export function adminMethods({ db, thresholds, topology }: AdminDeps): AdminMethods {
  return {
    import: async ({ topologyYaml, fileName }) => topology.importFile(topologyYaml, fileName || "topology file"),
    export: async () => ({ topologyYaml: await topology.exportFile() }),
    listHosts: async () => ({ hosts: (await listHosts(db, thresholds)).map(hostToMessage) }),
    route: async ({ host }) => {
      if (!host) throw new BadRequestError("route: no host given");
      return { hops: (await topology.route(host)).map(hopToMessage) };
    },
    sshConfig: async ({ knownHostsFile }) => ({ sshConfig: await topology.sshConfig(knownHostsFile || undefined) }),
    graph: async ({ format }) => {
      if (format === GraphFormat.GRAPH_FORMAT_SVG) return { text: await topology.graph("svg") };
      if (format === GraphFormat.GRAPH_FORMAT_DOT || format === GraphFormat.GRAPH_FORMAT_UNSPECIFIED) return { text: await topology.graph("dot") };
      throw new BadRequestError(`graph: unknown format ${format}`);
    },
    inventory: async () => ({ inventoryJson: `${JSON.stringify(await topology.inventory(), null, 2)}\n` }),
  };
}
