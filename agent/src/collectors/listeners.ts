import { Protocol, type Listener } from "../../../proto/gen/netmap/v1/report.ts";
import type { ProcNetSocket } from "../procfs.ts";
import type { SocketOwner } from "../socket-owners.ts";
import type { Collector } from "./types.ts";

export const listenersCollector: Collector = {
  name: "listeners",
  async collect(source, _state, { log }) {
    const sockets = await source.listeningSockets();
    const { owners, unreadableProcesses, walkedProcesses } = await source.socketOwners(new Set(sockets.map((s) => s.inode)));
    // Expected when unprivileged: other users' processes hide their fds.
    if (unreadableProcesses > 0) log.debug({ unreadableProcesses }, "some processes' sockets have no visible owner");
    if (walkedProcesses > 0) log.debug({ walkedProcesses }, "walked fd tables for new or moved sockets");
    return { listeners: listenersInfo(sockets, owners) };
  },
};

/**
 * One listener per (protocol, address, port): SO_REUSEPORT workers and
 * forked servers share a port, and the map wants the port, not each socket.
 * The owner kept is the lowest pid seen (the parent, usually).
 */
export function listenersInfo(sockets: ProcNetSocket[], owners: SocketOwner[]): Listener[] {
  const ownerByInode = new Map<number, SocketOwner>();
  for (const owner of owners) {
    const known = ownerByInode.get(owner.inode);
    if (!known || owner.pid < known.pid) ownerByInode.set(owner.inode, owner);
  }
  const byKey = new Map<string, Listener>();
  for (const socket of sockets) {
    const key = `${socket.protocol} ${socket.address} ${socket.port}`;
    const owner = ownerByInode.get(socket.inode);
    const known = byKey.get(key);
    const betterOwned = owner !== undefined && (known?.pid === undefined || owner.pid < known.pid);
    if (known && !betterOwned) continue;
    byKey.set(key, {
      protocol: socket.protocol === "tcp" ? Protocol.PROTOCOL_TCP : Protocol.PROTOCOL_UDP,
      address: socket.address,
      port: socket.port,
      ...(owner && { pid: owner.pid }),
      process: owner?.process ?? "",
    });
  }
  const family = (address: string) => (address.includes(":") ? 6 : 4);
  return [...byKey.values()].sort(
    (a, b) => a.protocol - b.protocol || a.port - b.port || family(a.address) - family(b.address) || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
  );
}
