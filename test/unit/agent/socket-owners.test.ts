// The socket-owner cache, against a fake /proc tree built per test: fd links
// are symlinks to "socket:[inode]", as the kernel shows them.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createSocketOwnerResolver, processNameOf } from "../../../agent/src/socket-owners.ts";

let proc: string;

function spawnFake(pid: number, comm: string, fds: Record<number, string>): void {
  const dir = join(proc, String(pid));
  mkdirSync(join(dir, "fd"), { recursive: true });
  writeFileSync(join(dir, "comm"), `${comm}\n`);
  writeFileSync(join(dir, "cmdline"), `${comm}\0--flag\0`);
  symlinkSync(`/usr/sbin/${comm}`, join(dir, "exe"));
  for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(dir, "fd", fd));
}

const socket = (inode: number) => `socket:[${inode}]`;
const owners = (result: { owners: { inode: number; pid: number; process: string }[] }) => result.owners.map((o) => [o.inode, o.pid, o.process]);

describe("socket owners", () => {
  beforeEach(() => {
    proc = mkdtempSync(join(tmpdir(), "netmap-proc-"));
    mkdirSync(join(proc, "net"));
    writeFileSync(join(proc, "uptime"), "1.0 1.0\n");
    spawnFake(100, "sshd", { 0: "/dev/null", 3: socket(5001) });
    spawnFake(200, "nginx", { 6: socket(5002), 7: "pipe:[42]" });
    spawnFake(250, "nginx", { 6: socket(5002) });
  });
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  it("resolve - names the lowest pid holding each socket, then re-checks only the remembered fds", async () => {
    const resolve = createSocketOwnerResolver(proc);
    const first = await resolve(new Set([5001, 5002]));
    assert.deepEqual(owners(first), [[5001, 100, "sshd"], [5002, 200, "nginx"]]);
    assert.equal(first.walkedProcesses, 2, "stops once both are found, before pid 250");
    const second = await resolve(new Set([5001, 5002]));
    assert.deepEqual(owners(second), owners(first));
    assert.equal(second.walkedProcesses, 0);
  });

  it("resolve - follows a socket handed to another process when its remembered holder closes it", async () => {
    const resolve = createSocketOwnerResolver(proc);
    await resolve(new Set([5001]));
    rmSync(join(proc, "100", "fd", "3"));
    spawnFake(300, "sshd-session", { 4: socket(5001) });
    const after = await resolve(new Set([5001]));
    assert.deepEqual(owners(after), [[5001, 300, "sshd-session"]]);
    assert.ok(after.walkedProcesses > 0);
  });

  it("resolve - when the owner exits, names the worker still holding the socket, and a socket nobody holds stays ownerless without a walk every cycle", async () => {
    const resolve = createSocketOwnerResolver(proc);
    await resolve(new Set([5001, 5002]));
    rmSync(join(proc, "200"), { recursive: true });
    assert.deepEqual(owners(await resolve(new Set([5001, 5002]))), [[5001, 100, "sshd"], [5002, 250, "nginx"]]);
    rmSync(join(proc, "250"), { recursive: true });
    const orphaned = await resolve(new Set([5001, 5002]));
    assert.deepEqual(owners(orphaned), [[5001, 100, "sshd"]]);
    assert.ok(orphaned.walkedProcesses > 0);
    assert.equal((await resolve(new Set([5001, 5002]))).walkedProcesses, 0, "an ownerless socket alone does not walk again");
  });

  it("resolve - places an ownerless socket when a walk for a new one comes across it", async () => {
    const resolve = createSocketOwnerResolver(proc);
    await resolve(new Set([5003]));
    spawnFake(50, "dnsmasq", { 5: socket(5003) });
    spawnFake(60, "chronyd", { 5: socket(5004) });
    const later = await resolve(new Set([5003, 5004]));
    assert.deepEqual(owners(later), [[5003, 50, "dnsmasq"], [5004, 60, "chronyd"]]);
  });

  it("resolve - renames the owner after an exec, which keeps pid and fds", async () => {
    const resolve = createSocketOwnerResolver(proc);
    await resolve(new Set([5001]));
    writeFileSync(join(proc, "100", "comm"), "sshd-new\n");
    rmSync(join(proc, "100", "exe"));
    symlinkSync("/usr/sbin/sshd-new", join(proc, "100", "exe"));
    const after = await resolve(new Set([5001]));
    assert.deepEqual(owners(after), [[5001, 100, "sshd-new"]]);
    assert.equal(after.walkedProcesses, 0);
  });

  it("resolve - forgets closed sockets, never walks for the kernel's inode 0, and counts unreadable fd tables", async () => {
    const resolve = createSocketOwnerResolver(proc);
    await resolve(new Set([5001, 5002]));
    assert.deepEqual(owners(await resolve(new Set([5002]))), [[5002, 200, "nginx"]]);
    mkdirSync(join(proc, "400"));
    const kernel = await resolve(new Set([0, 5002]));
    assert.equal(kernel.walkedProcesses, 0);
    const unreadable = await resolve(new Set([5002, 6000]));
    assert.equal(unreadable.unreadableProcesses, 1, "pid 400 has no fd directory it may read");
    assert.equal(unreadable.walkedProcesses, 3);
  });

  it("processNameOf - prefers the executable's name when comm is its truncation, comm when the runtime renamed its thread", () => {
    assert.equal(processNameOf("prometheus-node", "/usr/bin/prometheus-node-exporter", "/usr/bin/prometheus-node-exporter"), "prometheus-node-exporter");
    assert.equal(processNameOf("redis-server", "/usr/bin/redis-check-rdb", "redis-server *:6379"), "redis-server");
    assert.equal(processNameOf("MainThread", "/usr/bin/node", "node"), "node");
    assert.equal(processNameOf("sshd", "/usr/sbin/sshd (deleted)", "sshd:"), "sshd");
  });
});
