// NATS server lists as agents and collectors take them (--nats, NETMAP_NATS_URL, nats.url):
// one URL, or several comma-separated (the nodes of a cluster); the client tries them in
// turn and learns the rest of the cluster from the one it reaches.

const PROTOCOLS = ["nats:", "tls:", "ws:", "wss:"];

export const NATS_SERVERS_EXPECTED = "expected nats://HOST:PORT (or tls://, ws://, wss://), comma-separated for several";

/** The URLs of a server list, or undefined when any of them is not a NATS URL (or none is given). */
export function parseNatsServers(value: string): string[] | undefined {
  const servers = value.split(",").map((s) => s.trim()).filter(Boolean);
  const valid = servers.length > 0 && servers.every((server) => {
    try {
      return PROTOCOLS.includes(new URL(server).protocol);
    } catch {
      return false;
    }
  });
  return valid ? servers : undefined;
}
