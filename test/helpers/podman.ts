// A private Podman for a test: Debian's podman with its own root, run root and
// configuration (cgroupfs, no network, the vfs driver; open files and processes
// within this machine's hard limits, which Podman's defaults exceed here), the
// busybox-static image imported with `podman import` (no registry is reachable),
// and its Docker-compatible API service on a socket of its own. Needs root.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUSYBOX_IMAGE, engineCall, type TestDockerd } from "./dockerd.ts";
import { eventually } from "./wait.ts";

export interface TestPodman extends TestDockerd {
  /** Runs the podman CLI against this instance; its stdout. */
  podman(...args: string[]): string;
}

/** A hard limit of this process (/proc/self/limits, "Max open files"...), capped: a container may not raise a limit past it. */
function hardLimit(name: "Max open files" | "Max processes", cap: number): number {
  const value = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, "m").exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  return value === undefined || value === "unlimited" ? cap : Math.min(cap, Number(value));
}

export async function startPodman(): Promise<TestPodman> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-podman-"));
  const socket = join(dir, "podman.sock");
  const nofile = hardLimit("Max open files", 1024);
  // Lower than the hard limit: this sandbox refuses even setting RLIMIT_NPROC to its current value.
  const nproc = Math.min(4096, hardLimit("Max processes", 4096));
  writeFileSync(join(dir, "containers.conf"), [
    "[containers]",
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    'netns = "none"',
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${join(dir, "events.log")}"`,
    "",
  ].join("\n"));
  writeFileSync(join(dir, "storage.conf"), `[storage]\ndriver = "vfs"\nrunroot = "${join(dir, "run")}"\ngraphroot = "${join(dir, "root")}"\n`);
  const env = { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
  const global = ["--root", join(dir, "root"), "--runroot", join(dir, "run"), "--tmpdir", join(dir, "tmp")];
  const podman = (...args: string[]) => execFileSync("podman", [...global, ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });

  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/usr/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const applet of ["sh", "sleep", "true", "false"]) symlinkSync("busybox", join(rootfs, "bin", applet));
  execFileSync("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
  podman("import", join(dir, "rootfs.tar"), BUSYBOX_IMAGE);

  const log: string[] = [];
  const service: ChildProcess = spawn("podman", [...global, "system", "service", "--time=0", `unix://${socket}`], { env, stdio: ["ignore", "ignore", "pipe"] });
  service.stderr!.on("data", (c: Buffer) => log.push(c.toString()));
  const stop = async () => {
    try {
      podman("rm", "--all", "--force", "--time", "0");
    } catch {}
    if (service.exitCode === null) {
      const exited = new Promise((resolve) => service.once("exit", resolve));
      service.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (service.exitCode === null) service.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (service.exitCode !== null) throw new Error(`podman system service exited: ${log.join("").slice(-2000)}`);
      return existsSync(socket) && (await engineCall(socket, "GET", "/_ping")).status === 200;
    }, "podman's API service answering", 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { socket, api: (method, path, body) => engineCall(socket, method, path, body === undefined ? undefined : JSON.stringify(body)), stop, podman };
}
