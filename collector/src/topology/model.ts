// The infrastructure as NetMap knows it: clients → sites → hosts, guests under
// their hypervisor, and how SSH reaches each host. Plain data; the topology
// service builds it from the database and every view (routes, the Graphviz
// map, the Ansible inventory, the topology file) is a pure function of it.
import type { HostStatus } from "../hosts/status.ts";

import type { NetworkLink } from "../snmp/links.ts";

export const HOST_KINDS = ["server", "hypervisor", "vm", "container", "network"] as const;
export type HostKind = (typeof HOST_KINDS)[number];

/** Who stated a fact. What a person entered is never overwritten by discovery. */
export type FactSource = "person" | "agent" | "proxmox" | "snmp";

export interface TopologyHost {
  /** Database id; absent for hosts only read from a file. */
  id?: number;
  /** As people write it: spaces, accents and quotes allowed; shown, never passed to ssh. */
  name: string;
  /** The slug a person gave (`slug:`); absent or null: derived from the name (names.ts slugOf). */
  slug?: string | null;
  kind: HostKind;
  /**
   * Where SSH connects: an address a person wrote or confirmed (`netmap adopt`); null
   * when there is none, and such a host has no route.
   */
  address: string | null;
  /** Addresses the host's agent or Proxmox reports: shown, never used for SSH. */
  reportedAddresses?: string[];
  ssh: { user: string | null; port: number };
  /** Name of the host (same site) SSH goes through just before this one. */
  via: string | null;
  /** Name of the hypervisor (same site) this guest runs on. */
  parent: string | null;
  labels: Record<string, string>;
  source: FactSource;
  /** From monitoring, when the host has an agent or is discovered. */
  status?: HostStatus;
  /** The agent whose reports are this host's: attached by a person (`agent_id:` in the file, or `netmap adopt`). */
  agentId?: string | null;
  /** CLIENT/SITE/NAME of placed hosts this unassigned agent's host claims to be, unconfirmed. */
  claims?: string[];
  /** For a container its host's agent lists: its image, engine state and Compose project/service. */
  container?: { image: string; state: string; compose: { project: string; service: string | null } | null };
}

export interface Site {
  name: string;
  slug?: string | null;
  /** Default first hop for the site's hosts that have no via and no parent. */
  bastion: string | null;
  hosts: TopologyHost[];
}

export interface Client {
  name: string;
  slug?: string | null;
  sites: Site[];
}

export interface Topology {
  clients: Client[];
  /** Links between hosts that network devices show (LLDP, ARP); only when loaded for the map. */
  links?: NetworkLink[];
}

/** One SSH hop, in connection order; the last is the target. */
export interface Hop {
  client: string;
  site: string;
  name: string;
  address: string;
  port: number;
  user: string | null;
  /** Its ssh_config Host alias, `client.site.host` of slugs: the only name ssh is given. */
  alias: string;
}
