// The Docker Engine API (and Podman's Docker-compatible service) over its unix
// socket: what the containers collector reads. JSON in, nothing parsed here
// beyond JSON; collectors/containers.ts turns it into report fields.
import { existsSync } from "node:fs";
import { request } from "node:http";

/** Where `containers: auto` looks: Docker's socket, then rootful Podman's, then the agent user's Podman. */
export function engineSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  return ["/var/run/docker.sock", "/run/podman/podman.sock", ...(env.XDG_RUNTIME_DIR ? [`${env.XDG_RUNTIME_DIR}/podman/podman.sock`] : [])];
}

export function findEngineSocket(setting: string): string | undefined {
  return setting === "auto" ? engineSockets().find((p) => existsSync(p)) : setting;
}

const TIMEOUT_MS = 3000;
/** A container list of 4096 entries is ~10 MiB of JSON; more is not an engine answering. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** GET `path` on the engine at `socketPath`; the parsed JSON, or an error naming the path and status. */
export function engineGet(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "GET", headers: { host: "engine" }, timeout: TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`${path}: response over ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.once("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (response.statusCode !== 200) return reject(new Error(`${path}: HTTP ${response.statusCode} ${body.slice(0, 200).trim()}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${path}: not JSON`));
        }
      });
      response.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`${path}: no answer within ${TIMEOUT_MS / 1000} s`)));
    req.once("error", reject);
    req.end();
  });
}

/** Which engine answers: Podman names itself in /version's Components. */
export async function engineName(socketPath: string): Promise<"docker" | "podman"> {
  const version = (await engineGet(socketPath, "/version")) as { Components?: Array<{ Name?: string }> };
  return version.Components?.some((c) => /podman/i.test(c.Name ?? "")) ? "podman" : "docker";
}
