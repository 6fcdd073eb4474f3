// The one HTTP client for the Proxmox VE API: API-token auth, TLS verified by
// the system CAs or by a pinned SHA-256 certificate fingerprint, a timeout per
// call, bounded concurrency, a cap on response size, and only JSON accepted.
import { Agent as HttpsAgent, request } from "node:https";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { NetMapError } from "../errors.ts";
import type { ProxmoxClusterConfig, Secret } from "./config.ts";

export type ProxmoxErrorCode =
  | "PROXMOX_UNAUTHORIZED"
  | "PROXMOX_FORBIDDEN"
  | "PROXMOX_NODE_UNREACHABLE"
  | "PROXMOX_TIMEOUT"
  | "PROXMOX_FINGERPRINT_MISMATCH"
  | "PROXMOX_TLS"
  | "PROXMOX_UNREACHABLE"
  | "PROXMOX_BAD_RESPONSE"
  | "PROXMOX_HTTP";

export class ProxmoxError extends NetMapError {
  /** The HTTP status, when there was one. */
  readonly status: number | undefined;
  constructor(code: ProxmoxErrorCode, message: string, options: ErrorOptions & { status?: number } = {}) {
    super(code, message, options);
    this.status = options.status;
  }
}

export interface ProxmoxClientOptions {
  url: string;
  tokenId: string;
  tokenSecret: Secret;
  /** SHA-256 of the server certificate, "AB:CD:…" upper case; null to verify with the system CAs. */
  fingerprint: string | null;
  timeoutMs: number;
  concurrency: number;
  maxResponseBytes: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** An https.Agent that hands a socket to a request only after its certificate matched the pin. */
class PinnedAgent extends HttpsAgent {
  readonly #fingerprint: string;
  constructor(fingerprint: string, options: ConstructorParameters<typeof HttpsAgent>[0]) {
    super(options);
    this.#fingerprint = fingerprint;
  }
  // Verifying on 'secureConnect' of the request's own socket would be too late:
  // the request (with the token) may already be flushed. Here the socket is
  // handed over only once the pin matched, so nothing is sent to an impostor.
  override createConnection(options: ConnectionOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const socket: TLSSocket = tlsConnect({ ...options, rejectUnauthorized: false });
    const onError = (error: Error) => callback?.(error, socket);
    socket.once("error", onError);
    socket.once("secureConnect", () => {
      socket.off("error", onError);
      const offered = socket.getPeerCertificate().fingerprint256 ?? "(none)";
      if (offered.toUpperCase() !== this.#fingerprint) {
        socket.destroy();
        callback?.(
          new ProxmoxError(
            "PROXMOX_FINGERPRINT_MISMATCH",
            `certificate of ${options.host}:${options.port} does not match the pinned fingerprint; refused. pinned: ${this.#fingerprint} offered: ${offered}`,
          ),
          socket,
        );
        return;
      }
      callback?.(null, socket);
    });
    return undefined;
  }
}

export class ProxmoxClient {
  readonly base: URL;
  /** API calls made, for the cycle summary and the benchmark. */
  calls = 0;
  readonly #options: ProxmoxClientOptions;
  readonly #agent: HttpsAgent;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: ProxmoxClientOptions) {
    this.#options = options;
    this.base = new URL(options.url.replace(/\/+$/, "") + "/api2/json/");
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency };
    this.#agent = options.fingerprint ? new PinnedAgent(options.fingerprint, agentOptions) : new HttpsAgent(agentOptions);
  }

  /** GET path (relative to /api2/json), returning the response's `data`. */
  get(path: string): Promise<unknown> {
    return this.#call("GET", path);
  }

  /** POST to path with form parameters, as PVE's own tools send them; returns `data` (a UPID for a task). */
  post(path: string, parameters: Record<string, string | number> = {}): Promise<unknown> {
    return this.#call("POST", path, parameters);
  }

  /** DELETE path; returns `data` (a UPID for a task). */
  delete(path: string): Promise<unknown> {
    return this.#call("DELETE", path);
  }

  async #call(method: "GET" | "POST" | "DELETE", path: string, parameters?: Record<string, string | number>): Promise<unknown> {
    await this.#acquire();
    try {
      this.calls++;
      return await this.#request(method, path, parameters);
    } finally {
      this.#release();
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  async #acquire(): Promise<void> {
    if (this.#active < this.#options.concurrency) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }

  #request(method: "GET" | "POST" | "DELETE", path: string, parameters?: Record<string, string | number>): Promise<unknown> {
    const url = new URL(path.replace(/^\/+/, ""), this.base);
    const where = `${method} ${url.pathname}${url.search}`;
    const body = parameters ? new URLSearchParams(Object.entries(parameters).map(([k, v]): [string, string] => [k, String(v)])).toString() : undefined;
    const { timeoutMs, maxResponseBytes } = this.#options;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const req = request(url, {
        method,
        agent: this.#agent,
        headers: {
          Authorization: `PVEAPIToken=${this.#options.tokenId}=${this.#options.tokenSecret.reveal()}`, Accept: "application/json",
          ...(body !== undefined && { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body) }),
        },
      });
      // One deadline for the whole exchange, body included: a node trickling bytes times out too.
      const timer = setTimeout(() => fail(new ProxmoxError("PROXMOX_TIMEOUT", `${where}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (error instanceof ProxmoxError) return fail(error);
        const tls = error.code?.startsWith("ERR_TLS") || /certificate|self.signed|UNABLE_TO|CERT_/i.test(`${error.code} ${error.message}`);
        fail(
          new ProxmoxError(
            tls ? "PROXMOX_TLS" : "PROXMOX_UNREACHABLE",
            tls
              ? `${where}: TLS verification failed (${error.code ?? error.message}); for Proxmox's self-signed certificate, pin its SHA-256 fingerprint with proxmox[].fingerprint`
              : `${where}: ${error.code ?? ""} ${error.message}`.trim(),
            { cause: error },
          ),
        );
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const reason = res.statusMessage ?? "";
        const declared = Number(res.headers["content-length"]);
        if (declared > maxResponseBytes) return fail(new ProxmoxError("PROXMOX_BAD_RESPONSE", `${where}: answer of ${declared} bytes is over the ${maxResponseBytes}-byte cap`, { status }));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) return fail(new ProxmoxError("PROXMOX_BAD_RESPONSE", `${where}: answer is over the ${maxResponseBytes}-byte cap`, { status }));
          chunks.push(chunk);
        });
        res.on("error", (error) => fail(new ProxmoxError("PROXMOX_UNREACHABLE", `${where}: ${error.message}`, { cause: error })));
        res.on("end", () => {
          if (settled) return;
          try {
            const data = interpret(where, status, reason, String(res.headers["content-type"] ?? ""), Buffer.concat(chunks).toString("utf8"), this.#options.tokenId);
            settled = true;
            clearTimeout(timer);
            resolve(data);
          } catch (error) {
            fail(error as Error);
          }
        });
      });
      req.end(body);
    });
  }
}

/** The client of a configured cluster, as discovery and guest actions use it. */
export function clusterClient(cluster: ProxmoxClusterConfig): ProxmoxClient {
  return new ProxmoxClient({
    url: cluster.url,
    tokenId: cluster.tokenId,
    tokenSecret: cluster.tokenSecret,
    fingerprint: cluster.fingerprint,
    timeoutMs: cluster.timeoutSeconds * 1000,
    concurrency: cluster.concurrency,
    maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  });
}

/** Status and body → `data`, or the error they mean. PVE puts its reason in the status line. */
function interpret(where: string, status: number, reason: string, contentType: string, body: string, tokenId: string): unknown {
  const message = () => {
    let detail = reason;
    try {
      const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
      if (typeof parsed.message === "string" && parsed.message.trim()) detail = parsed.message.trim();
      if (parsed.errors && typeof parsed.errors === "object") detail += ` ${JSON.stringify(parsed.errors)}`;
    } catch {
      // Not JSON: the status line says it.
    }
    return detail.trim();
  };
  if (status === 401) throw new ProxmoxError("PROXMOX_UNAUTHORIZED", `${where}: API token ${tokenId} was refused (401 ${message()}); check proxmox[].token_id and the secret in token_secret_file`, { status });
  if (status === 403) {
    // PVE names what it checked: "Permission check failed (/vms/100, VM.PowerMgmt)".
    const check = /Permission check failed \(([^,]+), ([^)]+)\)/.exec(message());
    const missing = check ? `lacks ${check[2]!.trim()} on ${check[1]!.trim()}` : "lacks a privilege";
    throw new ProxmoxError("PROXMOX_FORBIDDEN", `${where}: API token ${tokenId} ${missing} (403 ${message()}); see docs/proxmox.md for the role`, { status });
  }
  // pveproxy answers 595 when it cannot reach the node the call is for.
  if (status === 595) throw new ProxmoxError("PROXMOX_NODE_UNREACHABLE", `${where}: node unreachable (595 ${message()})`, { status });
  if (/html/i.test(contentType) || /^\s*</.test(body)) {
    throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${where}: got an HTML page (HTTP ${status} ${reason}), not the API's JSON; is the URL the Proxmox API (https://host:8006)?`, { status });
  }
  if (status < 200 || status >= 300) throw new ProxmoxError("PROXMOX_HTTP", `${where}: HTTP ${status} ${message()}`, { status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${where}: answer is not JSON (${body.slice(0, 40).replace(/\s+/g, " ")}…)`, { status });
  }
  if (typeof parsed !== "object" || parsed === null || !("data" in parsed)) {
    throw new ProxmoxError("PROXMOX_BAD_RESPONSE", `${where}: answer has no "data"`, { status });
  }
  return (parsed as { data: unknown }).data;
}
