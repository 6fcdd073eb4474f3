// How the CLI checks the collector it sends its token to. Plain on HOST:PORT (a local
// collector); TLS when NETMAP_URL is https://HOST:PORT or NETMAP_CA / NETMAP_FINGERPRINT is
// set, verified against the system's CAs, the CA file in NETMAP_CA, or, with
// NETMAP_FINGERPRINT, exactly the certificate whose SHA-256 fingerprint it gives (a
// self-signed one, as for Proxmox).
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { connect, createSecureContext, type PeerCertificate } from "node:tls";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import { ConfigError, NetMapError } from "../errors.ts";

export interface ClientTls {
  secure: boolean;
  /** PEM of the CAs to trust instead of the system's. */
  ca?: Buffer;
  /** Upper-case hex pairs joined by colons, as Node and OpenSSL print them. */
  fingerprint?: string;
}

/** The presented certificate is not the pinned one; nothing was sent to it. */
export class FingerprintMismatchError extends NetMapError {
  constructor(message: string) {
    super("TLS_FINGERPRINT_MISMATCH", message);
  }
}

/** NETMAP_FINGERPRINT in any of the usual spellings (AB:CD…, abcd…, with a sha256/ SHA256= prefix). */
export function normaliseFingerprint(value: string): string {
  const hex = value.trim().replace(/^sha256[=/:]?/i, "").replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new ConfigError(`NETMAP_FINGERPRINT: expected a SHA-256 fingerprint (64 hex digits, colons allowed), got ${JSON.stringify(value)}`);
  return hex.match(/../g)!.join(":");
}

export function clientTls(env: Record<string, string | undefined>, httpsScheme: boolean): ClientTls {
  const fingerprint = env.NETMAP_FINGERPRINT?.trim() ? normaliseFingerprint(env.NETMAP_FINGERPRINT) : undefined;
  let ca: Buffer | undefined;
  if (env.NETMAP_CA?.trim()) {
    try {
      ca = readFileSync(env.NETMAP_CA.trim());
    } catch (error) {
      throw new ConfigError(`NETMAP_CA: cannot read ${env.NETMAP_CA}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { secure: httpsScheme || ca !== undefined || fingerprint !== undefined, ca, fingerprint };
}

/** The gRPC channel's credentials; for a pinned fingerprint, after looking at the certificate the collector presents. */
export async function channelCredentials(host: string, port: number, tls: ClientTls): Promise<ChannelCredentials> {
  if (!tls.secure) return credentials.createInsecure();
  if (!tls.fingerprint) return credentials.createSsl(tls.ca ?? null);
  const presented = await presentedCertificate(host, port);
  if (presented.fingerprint256 !== tls.fingerprint) {
    throw new FingerprintMismatchError(
      `the collector at ${host}:${port} presents a certificate with SHA-256 fingerprint ${presented.fingerprint256}, not NETMAP_FINGERPRINT's ${tls.fingerprint}; nothing was sent to it`,
    );
  }
  // That certificate alone is trusted for the call itself, and checked again there, so a
  // different one presented to the second connection is refused as well.
  const pem = `-----BEGIN CERTIFICATE-----\n${presented.raw.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
  return credentials.createFromSecureContext(createSecureContext({ ca: pem, allowPartialTrustChain: true }), {
    checkServerIdentity: (_host, certificate) =>
      certificate.fingerprint256 === tls.fingerprint ? undefined : new FingerprintMismatchError(`the collector's certificate changed to ${certificate.fingerprint256}`),
  });
}

function presentedCertificate(host: string, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    // Not verified here: what is looked at is the fingerprint, before any byte of the token leaves.
    const socket = connect({ host, port, ...(isIP(host) ? {} : { servername: host }), rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      if (!certificate?.raw) reject(new NetMapError("COLLECTOR_UNREACHABLE", `the collector at ${host}:${port} presented no certificate`));
      else resolve(certificate);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("no TLS handshake within 10 s")));
    socket.once("error", (error) => reject(new NetMapError("COLLECTOR_UNREACHABLE", `cannot reach the collector at ${host}:${port} over TLS: ${error.message}`)));
  });
}
