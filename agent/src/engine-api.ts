// The Docker Engine API (and Podman's Docker-compatible service) over its unix
// socket: what the containers collector reads. JSON in, nothing parsed here
// beyond JSON; collectors/containers.ts turns it into report fields.
import { existsSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";

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

/** GET `path` on the engine at `socketPath`: the answer's headers and body, or an error naming the path and status. */
function engineFetch(socketPath: string, path: string): Promise<{ headers: IncomingHttpHeaders; body: string }> {
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
        resolve({ headers: response.headers, body });
      });
      response.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error(`${path}: no answer within ${TIMEOUT_MS / 1000} s`)));
    req.once("error", reject);
    req.end();
  });
}

/** GET `path` on the engine at `socketPath`; the parsed JSON, or an error naming the path and status. */
export async function engineGet(socketPath: string, path: string): Promise<unknown> {
  const { body } = await engineFetch(socketPath, path);
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`${path}: not JSON`);
  }
}

/**
 * Which engine answers: Podman's service names its own API version in every answer's
 * Libpod-Api-Version header. Asked of /_ping, which answers at once (Podman 4.3's /version
 * took 12 s to answer on this machine, past the request timeout).
 */
export async function engineName(socketPath: string): Promise<"docker" | "podman"> {
  const { headers } = await engineFetch(socketPath, "/_ping");
  return headers["libpod-api-version"] === undefined ? "docker" : "podman";
}

/** One message of the engine's /events stream (Docker's shape; Podman's compatible service writes the same). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export interface EngineEventHandlers {
  /** The engine answered: every event from now on will be seen. */
  open(): void;
  event(event: EngineEvent): void;
  /** The stream ended or failed; nothing more is seen until followed again. */
  end(error: Error): void;
}

/** An event larger than this is not an engine answering (one is ~1 KiB, a few labels more). */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Follows the engine's container and network events (GET /events, one JSON
 * message a line, for as long as the engine runs). The connection does not
 * keep the process alive. Returns a function that stops following.
 */
export function followEngineEvents(socketPath: string, handlers: EngineEventHandlers): () => void {
  let ended = false;
  const end = (error: Error) => {
    if (ended) return;
    ended = true;
    handlers.end(error);
  };
  const filters = encodeURIComponent(JSON.stringify({ type: ["container", "network"] }));
  const req = request({ socketPath, path: `/events?filters=${filters}`, method: "GET", headers: { host: "engine" } }, (response) => {
    if (response.statusCode !== 200) {
      response.resume();
      return end(new Error(`/events: HTTP ${response.statusCode}`));
    }
    handlers.open();
    let pending = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      pending += chunk;
      for (let at = pending.indexOf("\n"); at >= 0; at = pending.indexOf("\n")) {
        const line = pending.slice(0, at).trim();
        pending = pending.slice(at + 1);
        if (!line) continue;
        let event: EngineEvent;
        try {
          event = JSON.parse(line) as EngineEvent;
        } catch {
          return req.destroy(new Error("/events: a message that is not JSON"));
        }
        if (!ended) handlers.event(event);
      }
      if (pending.length > MAX_EVENT_BYTES) req.destroy(new Error(`/events: a message over ${MAX_EVENT_BYTES} bytes`));
    });
    response.once("end", () => end(new Error("/events: the engine ended the stream")));
    response.once("error", end);
    response.once("close", () => end(new Error("/events: the connection closed")));
  });
  req.once("socket", (socket) => socket.unref());
  req.once("error", end);
  req.end();
  return () => {
    ended = true;
    req.destroy();
  };
}
