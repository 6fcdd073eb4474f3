// Topologies as a hostile agent (or a compromised Proxmox) could leave them in the database:
// names that carry ssh_config directives, terminal escapes and C1 controls. The database does
// not refuse such names, so every writer must.
import type { Topology, TopologyHost } from "../../collector/src/topology/model.ts";

/** A hostname that, written raw on its own line of ssh_config, runs `touch FILE`. */
export function matchExecName(file: string): string {
  return `evil\nMatch exec "touch ${file}"\nHost zz`;
}

/** Terminal escapes: clear screen, set the title, OSC 8 link, C1 CSI, DEL, a bell (no NUL: PostgreSQL text cannot hold it). */
export const TERMINAL_HOSTILE = "web\x1b[2J\x1b]0;owned\x07\x1b]8;;http://x\x1b\\\u009b31m\x7f\x07end";

function agentHost(name: string, fields: Partial<TopologyHost> = {}): TopologyHost {
  return { name, kind: "server", address: "192.0.2.50", ssh: { user: null, port: 22 }, via: null, parent: null, labels: {}, source: "agent", ...fields };
}

/**
 * One site: a good bastion, an agent host with `name`, a good host that goes through the hostile
 * one, and a good host behind the bastion (which must still get its block).
 */
export function hostileTopology(name: string): Topology {
  return {
    clients: [
      {
        name: "acme",
        sites: [
          {
            name: "dc1",
            bastion: null,
            hosts: [
              agentHost("gw1", { address: "203.0.113.10", source: "person" }),
              agentHost(name),
              agentHost("behind", { via: name, source: "person", address: "10.0.0.7" }),
              agentHost("web01", { via: "gw1", source: "person", address: "10.0.0.5" }),
            ],
          },
        ],
      },
    ],
  };
}
