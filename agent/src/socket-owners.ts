// Which process holds each listening socket: the /proc/<pid>/fd walk `ss -p`
// does, made cheap for an agent that asks every cycle.
//
// A full walk reads a link per open file descriptor on the machine (~5 ms for
// 700 fds here, and it grows with the fd count), while listening sockets
// rarely change. So the resolver remembers where it found each socket
// (pid and fd) and, on later cycles, only re-reads that one link to check the
// socket is still there, plus /proc/<pid>/comm in case the process exec'd.
// It walks again only for inodes it has not placed: a new listener, or one
// whose remembered holder closed it or exited. That walk goes through pids in
// ascending order and stops once every such inode is found, so the owner of
// a shared socket is still the lowest pid holding it (the parent of forked
// workers, usually), as with a full walk.
//
// An inode a walk cannot place (its holder's fds are unreadable without
// CAP_SYS_PTRACE, or it lives in another pid namespace) is remembered as
// ownerless and not walked for again on its own account; later walks still
// look out for it. Reading another user's fd table needs root or
// CAP_SYS_PTRACE; without it those sockets are reported ownerless.
//
// The reads are synchronous: /proc is generated in memory, never waits on a
// disk, and a synchronous readlink costs ~8x less CPU than a promise through
// libuv's thread pool. A long walk yields to the event loop between batches
// of processes so it never holds up the NATS connection for long.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

export interface SocketOwner {
  inode: number;
  pid: number;
  process: string;
}

export interface SocketOwners {
  owners: SocketOwner[];
  /** Processes whose fd table the agent may not read (other users' when unprivileged), among those walked this time. */
  unreadableProcesses: number;
  /** fd tables read this time: 0 when every socket's remembered holder still holds it. */
  walkedProcesses: number;
}

export type SocketOwnerResolver = (inodes: ReadonlySet<number>) => Promise<SocketOwners>;

interface Holder {
  pid: number;
  fd: string;
  comm: string;
  process: string;
}

const PROCESSES_PER_BATCH = 64;

export function createSocketOwnerResolver(proc: string): SocketOwnerResolver {
  const holders = new Map<number, Holder>();
  const ownerless = new Set<number>();

  return async (wanted) => {
    for (const inode of holders.keys()) if (!wanted.has(inode)) holders.delete(inode);
    for (const inode of ownerless) if (!wanted.has(inode)) ownerless.delete(inode);

    const missing = new Set<number>();
    for (const inode of wanted) {
      // Kernel sockets (nfsd, lockd) show inode 0 and belong to no process.
      if (inode === 0 || ownerless.has(inode)) continue;
      const holder = holders.get(inode);
      if (holder && stillHolds(proc, holder, inode)) continue;
      holders.delete(inode);
      missing.add(inode);
    }

    let unreadableProcesses = 0;
    let walkedProcesses = 0;
    if (missing.size > 0) {
      const walk = await findHolders(proc, missing, ownerless);
      ({ unreadableProcesses, walkedProcesses } = walk);
      for (const [inode, holder] of walk.found) {
        holders.set(inode, holder);
        ownerless.delete(inode);
      }
      for (const inode of missing) if (!walk.found.has(inode)) ownerless.add(inode);
    }

    const owners = [...holders].map(([inode, { pid, process }]) => ({ inode, pid, process }));
    owners.sort((a, b) => a.pid - b.pid || a.inode - b.inode);
    return { owners, unreadableProcesses, walkedProcesses };
  };
}

/** The remembered fd still links to the socket; a changed comm (an exec) renames the holder. */
function stillHolds(proc: string, holder: Holder, inode: number): boolean {
  const target = readLinkOrEmpty(`${proc}/${holder.pid}/fd/${holder.fd}`);
  if (target !== `socket:[${inode}]`) return false;
  const comm = readOrEmpty(`${proc}/${holder.pid}/comm`).trim();
  if (comm !== holder.comm) Object.assign(holder, { comm, process: processName(proc, String(holder.pid), comm) });
  return true;
}

/**
 * Walks fd tables in ascending pid order until every missing inode is found.
 * Ownerless inodes met on the way are placed too, but never keep the walk going.
 */
async function findHolders(proc: string, missing: ReadonlySet<number>, ownerless: ReadonlySet<number>) {
  const found = new Map<number, Holder>();
  let unreadableProcesses = 0;
  let walkedProcesses = 0;
  let stillMissing = missing.size;
  const pids = readdirSync(proc).filter((entry) => /^\d+$/.test(entry)).map(Number).sort((a, b) => a - b);
  for (const [index, pid] of pids.entries()) {
    if (stillMissing === 0) break;
    if (index > 0 && index % PROCESSES_PER_BATCH === 0) await yieldToEventLoop();
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      // Unreadable, or the process exited since /proc was listed.
      unreadableProcesses++;
      continue;
    }
    walkedProcesses++;
    let comm: string | undefined;
    let process: string | undefined;
    for (const fd of fds) {
      const target = readLinkOrEmpty(`${proc}/${pid}/fd/${fd}`);
      if (!target.startsWith("socket:[")) continue;
      const inode = Number(target.slice("socket:[".length, -1));
      if (found.has(inode) || !(missing.has(inode) || ownerless.has(inode))) continue;
      comm ??= readOrEmpty(`${proc}/${pid}/comm`).trim();
      process ??= processName(proc, String(pid), comm);
      found.set(inode, { pid, fd, comm, process });
      if (missing.has(inode)) stillMissing--;
    }
  }
  return { found, unreadableProcesses, walkedProcesses };
}

// The name ps and ss would show (comm), except where comm misleads: it is cut
// at 15 characters, and some runtimes rename their main thread (Node calls it
// "MainThread"). The executable's name can mislead too (redis-server is a
// link to redis-check-rdb), so it is used only when comm fits neither.
export function processNameOf(comm: string, exe: string, argv0: string): string {
  const exeName = basename(exe.replace(/ \(deleted\)$/, ""));
  const argv0Name = basename(argv0.split(" ")[0] ?? "");
  if (comm && exeName.startsWith(comm)) return exeName;
  if (comm && argv0Name.startsWith(comm)) return comm.length >= 15 ? argv0Name : comm;
  return exeName || comm;
}

function processName(proc: string, pid: string, comm: string): string {
  const exe = readLinkOrEmpty(`${proc}/${pid}/exe`);
  const argv0 = readOrEmpty(`${proc}/${pid}/cmdline`).split("\0")[0] ?? "";
  return processNameOf(comm, exe, argv0);
}

function readLinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
