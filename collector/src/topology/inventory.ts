// The topology as an Ansible dynamic inventory (the JSON an inventory script prints for
// --list): hostvars under _meta, a group per client, per site and per kind.
//
// Names as people write them (`Paris DC "north"`) are hostvars only; inventory host names and
// groups are built from slugs (names.ts). Group names keep to Ansible's rule, [A-Za-z0-9_] not
// starting with a digit:
//   client "Société" (slug societe)   → client_societe
//   site "paris-dc1" of acme          → site_acme_paris_dc1   (child of client_acme)
//   kind "hypervisor"                 → kind_hypervisor
// Every other character becomes "_"; two names that sanitize alike get _2, _3 … in the order
// the topology lists them. A host whose SSH chain cannot be computed (no address, a cycle, an
// unknown hop, a hop with characters OpenSSH would mis-parse) is in group `unreachable` only,
// with the reason in hostvars `netmap_route_error`: left in its other groups, Ansible would
// connect to its bare name, which may be some other machine.
import { HOST_KINDS, type Client, type Hop, type HostKind, type Site, type Topology, type TopologyHost } from "./model.ts";
import { slugOf } from "./names.ts";

/** A host with where it sits, as the chain function receives it. */
export interface LocatedHost {
  client: Client;
  site: Site;
  host: TopologyHost;
}

/** The SSH hops to a host, the host last; throws when there is no route. */
export type ChainOf = (located: LocatedHost) => Hop[];

export type HostVars = Record<string, string | number | Record<string, string>>;

export interface AnsibleGroup {
  hosts?: string[];
  children?: string[];
  vars?: Record<string, string>;
}

export type AnsibleInventory = { _meta: { hostvars: Record<string, HostVars> } } & Record<string, AnsibleGroup | { hostvars: Record<string, HostVars> }>;

export const UNREACHABLE_GROUP = "unreachable";

/** A name as Ansible accepts it for a group: [A-Za-z0-9_], never a leading digit. */
export function ansibleGroupName(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].map((part) => part.replace(/[^A-Za-z0-9_]/g, "_")).join("_");
}

// A user, an address and a port OpenSSH takes literally in `-o ProxyJump=` and on its command
// line. ProxyJump is run through the user's shell, so anything else is refused, not quoted.
const SAFE_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const SAFE_HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;
const SAFE_IPV6 = /^[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9_.-]{1,15})?$/;

function checkHop(hop: Hop): void {
  if (hop.user !== null && !SAFE_USER.test(hop.user)) throw new Error(`hop ${hop.name} has a user OpenSSH cannot take literally`);
  if (!SAFE_HOSTNAME.test(hop.address) && !(hop.address.includes(":") && SAFE_IPV6.test(hop.address))) {
    throw new Error(`hop ${hop.name} has an address OpenSSH cannot take literally`);
  }
  if (!Number.isInteger(hop.port) || hop.port < 1 || hop.port > 65535) throw new Error(`hop ${hop.name} has port ${hop.port}, not 1-65535`);
}

/** One ProxyJump destination: `user@addr:port`, an IPv6 address in brackets. */
export function jumpSpec(hop: Hop): string {
  const address = hop.address.includes(":") ? `[${hop.address}]` : hop.address;
  return `${hop.user === null ? "" : `${hop.user}@`}${address}:${hop.port}`;
}

/** Assigns each distinct key a sanitized group name, suffixing collisions. */
class GroupNames {
  private readonly byKey = new Map<string, string>();
  private readonly taken = new Set<string>([UNREACHABLE_GROUP, "all", "ungrouped"]);

  name(key: string, wanted: string): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    let name = wanted;
    for (let n = 2; this.taken.has(name); n += 1) name = `${wanted}_${n}`;
    this.taken.add(name);
    this.byKey.set(key, name);
    return name;
  }
}

/** Inventory host names: the host's slug, or client/site/host of slugs where a slug repeats across sites. */
function inventoryNames(topology: Topology): (client: Client, site: Site, host: TopologyHost) => string {
  const count = new Map<string, number>();
  for (const client of topology.clients) for (const site of client.sites) for (const host of site.hosts) count.set(slugOf(host), (count.get(slugOf(host)) ?? 0) + 1);
  return (client, site, host) => ((count.get(slugOf(host)) ?? 0) > 1 ? `${slugOf(client)}/${slugOf(site)}/${slugOf(host)}` : slugOf(host));
}

export function ansibleInventory(topology: Topology, chainOf: ChainOf): AnsibleInventory {
  const hostvars: Record<string, HostVars> = {};
  const groups = new Map<string, AnsibleGroup>();
  const names = new GroupNames();
  const inventoryName = inventoryNames(topology);
  const group = (name: string): AnsibleGroup => {
    let g = groups.get(name);
    if (!g) groups.set(name, (g = {}));
    return g;
  };
  const addHost = (groupName: string, host: string) => (group(groupName).hosts ??= []).push(host);
  const addChild = (groupName: string, child: string) => {
    const children = (group(groupName).children ??= []);
    if (!children.includes(child)) children.push(child);
  };
  const clientGroups: string[] = [];
  const kindGroups = new Map<HostKind, string>();
  let anyUnreachable = false;

  for (const client of topology.clients) {
    const clientGroup = names.name(JSON.stringify(["client", client.name]), ansibleGroupName("client", slugOf(client)));
    group(clientGroup);
    clientGroups.push(clientGroup);
    for (const site of client.sites) {
      const siteGroup = names.name(JSON.stringify(["site", client.name, site.name]), ansibleGroupName("site", slugOf(client), slugOf(site)));
      group(siteGroup);
      addChild(clientGroup, siteGroup);
      for (const host of site.hosts) {
        const name = inventoryName(client, site, host);
        if (hostvars[name]) continue; // a duplicate within a site: the file import refuses these
        const vars: HostVars = { netmap_client: client.name, netmap_site: site.name, netmap_name: host.name, netmap_slug: slugOf(host), netmap_kind: host.kind };
        if (host.id !== undefined) vars.netmap_id = host.id;
        if (Object.keys(host.labels).length) vars.netmap_labels = { ...host.labels };
        hostvars[name] = vars;
        try {
          const chain = chainOf({ client, site, host });
          const target = chain.at(-1);
          if (!target) throw new Error(`no route to ${host.name}`);
          chain.forEach(checkHop);
          vars.ansible_host = target.address;
          if (target.user !== null) vars.ansible_user = target.user;
          vars.ansible_port = target.port;
          if (chain.length > 1) vars.ansible_ssh_common_args = `-o ProxyJump=${chain.slice(0, -1).map(jumpSpec).join(",")}`;
        } catch (err) {
          vars.netmap_route_error = err instanceof Error ? err.message : String(err);
          addHost(UNREACHABLE_GROUP, name);
          anyUnreachable = true;
          continue;
        }
        addHost(siteGroup, name);
        const kindGroup = names.name(JSON.stringify(["kind", host.kind]), ansibleGroupName("kind", host.kind));
        addHost(kindGroup, name);
        kindGroups.set(host.kind, kindGroup);
      }
    }
  }

  const inventory: AnsibleInventory = { _meta: { hostvars } };
  const kinds = HOST_KINDS.flatMap((kind) => kindGroups.get(kind) ?? []);
  inventory.all = { children: [...clientGroups, ...kinds, ...(anyUnreachable ? [UNREACHABLE_GROUP] : [])] };
  for (const [name, g] of groups) inventory[name] = g;
  return inventory;
}
