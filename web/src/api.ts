// The one place the console talks to the collector: every request carries the bearer token,
// and a 401 hands over to the sign-in form (auth.ts). Answers are typed by the API's own
// declarations (collector/src/http/api-types.ts).
import type { ErrorResponse } from "../../collector/src/http/api-types.ts";

const REQUEST_TIMEOUT_MS = 8000;
const TOKEN_KEY = "netmap.token";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(message: string, status: number, code: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let token: string | null = null;
let onRefused: (sent: string | null) => void = () => {};

export function currentToken(): string | null {
  return token;
}

/** Keeps the token for this tab (sessionStorage), or forgets it. */
export function keepToken(value: string | null): void {
  token = value;
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode, policy): the token lasts until the page is reloaded.
  }
}

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Called with the token a request was sent with when the collector answers 401. */
export function whenRefused(handler: (sent: string | null) => void): void {
  onRefused = handler;
}

async function request(path: string, init: RequestInit & { accept: string; timeoutMs?: number }): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), init.timeoutMs ?? REQUEST_TIMEOUT_MS);
  const sent = token;
  const headers: Record<string, string> = { accept: init.accept, ...(sent ? { authorization: `Bearer ${sent}` } : {}) };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method: init.method, body: init.body, signal: controller.signal, headers });
  } catch (err) {
    throw new ApiError((err as Error)?.name === "AbortError" ? "request timed out" : "network error", 0, "UNREACHABLE");
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 401) onRefused(sent);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as ErrorResponse | null;
    throw new ApiError(body?.error?.message ?? `HTTP ${response.status}`, response.status, body?.error?.code ?? `HTTP_${response.status}`);
  }
  return response;
}

async function json<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => null)) as T | null;
  if (body === null) throw new ApiError("response was not JSON", response.status, "BAD_RESPONSE");
  return body;
}

export async function getJson<T>(path: string): Promise<T> {
  return json<T>(await request(path, { accept: "application/json" }));
}

/** POST or DELETE with an optional JSON body; timeoutMs for an action that takes its time (a container's stop waits for it). */
export async function sendJson<T>(method: "POST" | "DELETE", path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  return json<T>(await request(path, { method, accept: "application/json", body: body === undefined ? undefined : JSON.stringify(body), timeoutMs }));
}

/** The map's SVG text; Graphviz takes a while on a large estate, so more time than JSON gets. */
export async function getSvg(path: string): Promise<string> {
  const response = await request(path, { accept: "image/svg+xml", timeoutMs: 30_000 });
  if (!response.headers.get("content-type")?.startsWith("image/svg+xml")) {
    throw new ApiError("the collector answered with something other than an SVG", response.status, "BAD_RESPONSE");
  }
  return response.text();
}

/** A text answer of the given type (a terminal recording). */
export async function getText(path: string, type: string): Promise<string> {
  const response = await request(path, { accept: type, timeoutMs: 30_000 });
  if (!response.headers.get("content-type")?.startsWith(type)) throw new ApiError(`the collector answered with something other than ${type}`, response.status, "BAD_RESPONSE");
  return response.text();
}

/** HTTP status of a HEAD request (0 when unreachable); a 401 is handed to the sign-in form. */
export async function probe(path: string): Promise<number> {
  try {
    return (await request(path, { method: "HEAD", accept: "*/*" })).status;
  } catch (err) {
    return (err as ApiError).status;
  }
}
