// One run of one synthetic check: connect (tcp), or request and read the whole
// response (http, https with the certificate's days left). Never throws: a
// failure is a result with success false and why.
// Not node:fs/promises: the agent does not load it (docs/performance.md); a CA file is small.
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { rootCertificates, type TLSSocket } from "node:tls";
import { CheckType, type CheckResult } from "../../../proto/gen/netmap/v1/report.ts";
import { monotonicMs } from "../clock.ts";
import type { CheckConfig, HttpCheck, TcpCheck } from "../../../proto/src/check-config.ts";

const DAY_MS = 86_400_000;

/** Days from `now` to a certificate's notAfter as Node prints it ("Dec  6 12:00:00 2026 GMT"); negative once expired. */
export function daysLeft(validTo: string, now: Date): number | undefined {
  const notAfter = Date.parse(validTo);
  return Number.isNaN(notAfter) ? undefined : (notAfter - now.getTime()) / DAY_MS;
}

/** Whether an HTTP status is what the check expects: the configured one, else any 2xx or 3xx. */
export function statusExpected(status: number, expected: number | undefined): boolean {
  return expected === undefined ? status >= 200 && status < 400 : status === expected;
}

export async function runCheck(check: CheckConfig): Promise<CheckResult> {
  return check.type === "tcp" ? runTcp(check) : runHttp(check);
}

function result(check: CheckConfig, fields: Partial<CheckResult>): CheckResult {
  const target = check.type === "tcp" ? `${check.host.includes(":") ? `[${check.host}]` : check.host}:${check.port}` : check.url;
  return {
    name: check.name, type: check.type === "tcp" ? CheckType.CHECK_TYPE_TCP : CheckType.CHECK_TYPE_HTTP, target, success: false, error: "",
    latencySeconds: undefined, httpStatus: undefined, certificateDaysLeft: undefined, checkedAt: new Date(), ...fields,
  };
}

/** One line: OpenSSL's messages end in a newline, and a report's text holds no control character. */
function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = (e.message ?? String(error)).trim().replace(/\s*\n\s*/g, "; ");
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

function runTcp(check: TcpCheck): Promise<CheckResult> {
  const started = monotonicMs();
  return new Promise((done) => {
    const socket = connect({ host: check.host, port: check.port, timeout: check.timeoutSeconds * 1000 });
    socket.once("connect", () => {
      socket.destroy();
      done(result(check, { success: true, latencySeconds: (monotonicMs() - started) / 1000 }));
    });
    socket.once("timeout", () => socket.destroy(new Error(`no connection within ${check.timeoutSeconds} s`)));
    socket.once("error", (error) => done(result(check, { error: errorText(error) })));
  });
}

async function runHttp(check: HttpCheck): Promise<CheckResult> {
  let ca: Array<string | Buffer> | undefined;
  if (check.caFile !== undefined) {
    try {
      ca = [...rootCertificates, readFileSync(check.caFile)];
    } catch (error) {
      return result(check, { error: `ca_file ${check.caFile}: ${errorText(error)}` });
    }
  }
  const started = monotonicMs();
  const https = check.url.startsWith("https:");
  return new Promise((done) => {
    let certificateDaysLeft: number | undefined;
    const options = { method: "GET", agent: false as const, headers: { "user-agent": "netmap-agent" }, ...(ca && { ca }) };
    const onResponse = (response: IncomingMessage) => {
      const httpStatus = response.statusCode ?? 0;
      response.resume();
      response.once("end", () => {
        const latencySeconds = (monotonicMs() - started) / 1000;
        const success = statusExpected(httpStatus, check.status);
        const error = success ? "" : `HTTP ${httpStatus}${check.status === undefined ? "" : `, expected ${check.status}`}`;
        done(result(check, { success, latencySeconds, httpStatus, certificateDaysLeft, error }));
      });
      response.once("error", (error) => done(result(check, { httpStatus, certificateDaysLeft, error: errorText(error) })));
    };
    const request = https ? httpsRequest(check.url, options, onResponse) : httpRequest(check.url, options, onResponse);
    request.once("socket", (socket) => {
      // Read at the handshake, so a certificate is judged even when the response never comes.
      if (https) socket.once("secureConnect", () => {
        const validTo = (socket as TLSSocket).getPeerCertificate().valid_to;
        certificateDaysLeft = validTo ? daysLeft(validTo, new Date()) : undefined;
      });
    });
    // The whole exchange, not the socket's idle time: a server trickling bytes still fails.
    const deadline = setTimeout(() => request.destroy(new Error(`no complete response within ${check.timeoutSeconds} s`)), check.timeoutSeconds * 1000);
    request.once("close", () => clearTimeout(deadline));
    request.once("error", (error) => done(result(check, { certificateDaysLeft, error: errorText(error) })));
    request.end();
  });
}
