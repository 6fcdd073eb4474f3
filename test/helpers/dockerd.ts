// A private Docker daemon for a test: Debian's docker.io dockerd with its own data root,
// exec root, socket and containerd namespace, no iptables, no bridge (no network), the vfs
// storage driver (no overlay mounts needed); and one image imported from a busybox-static
// rootfs, as no registry is reachable here. Needs root, dockerd and /usr/bin/busybox.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./wait.ts";

export const BUSYBOX_IMAGE = "netmap-busybox:test";

export interface TestDockerd {
  socket: string;
  /** A request to the Engine API: the status and the parsed JSON body, if any. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** One Engine API request over a unix socket: its status and parsed JSON body. Docker and Podman alike. */
export function engineCall(socketPath: string, method: string, path: string, body?: Buffer | string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { host: "docker", "content-type": Buffer.isBuffer(body) ? "application/x-tar" : "application/json" } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {}
        resolve({ status: response.statusCode ?? 0, body: parsed });
      });
    });
    req.once("error", reject);
    req.end(body);
  });
}

export async function startDockerd(): Promise<TestDockerd> {
  const dir = mkdtempSync(join(tmpdir(), "netmap-dockerd-"));
  const socket = join(dir, "docker.sock");
  const log: string[] = [];
  const daemon: ChildProcess = spawn("/usr/sbin/dockerd", [
    "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs", `--data-root=${join(dir, "root")}`, `--exec-root=${join(dir, "exec")}`,
    `--pidfile=${join(dir, "docker.pid")}`, `--host=unix://${socket}`, `--containerd-namespace=netmap-test-${process.pid}`, `--containerd-plugins-namespace=netmap-test-${process.pid}-plugins`,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  daemon.stderr!.on("data", (c: Buffer) => log.push(c.toString()));
  const stop = async () => {
    if (daemon.exitCode === null) {
      const exited = new Promise((resolve) => daemon.once("exit", resolve));
      daemon.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (daemon.exitCode === null) daemon.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (daemon.exitCode !== null) throw new Error(`dockerd exited: ${log.join("").slice(-2000)}`);
      return existsSync(socket) && (await engineCall(socket, "GET", "/_ping")).status === 200;
    }, "dockerd answering", 60_000);
    // The image: busybox-static and the applets the tests run, as a tar the engine imports.
    const rootfs = join(dir, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    copyFileSync("/usr/bin/busybox", join(rootfs, "bin", "busybox"));
    for (const applet of ["sh", "sleep", "true", "false"]) symlinkSync("busybox", join(rootfs, "bin", applet));
    execFileSync("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
    const [repo, tag] = BUSYBOX_IMAGE.split(":");
    const imported = await engineCall(socket, "POST", `/images/create?fromSrc=-&repo=${repo}&tag=${tag}`, readFileSync(join(dir, "rootfs.tar")));
    if (imported.status !== 200) throw new Error(`image import: HTTP ${imported.status} ${JSON.stringify(imported.body)}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { socket, api: (method, path, body) => engineCall(socket, method, path, body === undefined ? undefined : JSON.stringify(body)), stop };
}
