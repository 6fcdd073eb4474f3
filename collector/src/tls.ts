// The collector's own TLS (http.tls, grpc.tls): a certificate and its key read from files at
// start, and read again on SIGHUP (serve.ts) so a renewed certificate is served without a restart.
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { experimental } from "@grpc/grpc-js";
import { readSecretBytes, type SecretFileOptions } from "../../lib/secret-file.ts";
import { ConfigError } from "./errors.ts";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TlsIdentity {
  cert: Buffer;
  key: Buffer;
}

/** The certificate (chain) and key of setting (http.tls, grpc.tls), checked to belong together. */
export function readTlsIdentity(files: TlsFiles, setting: string, secrets: SecretFileOptions): TlsIdentity {
  let cert: Buffer;
  try {
    cert = readFileSync(files.certFile);
  } catch (error) {
    throw new ConfigError(`${setting}.cert_file: cannot read ${files.certFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const key = readSecretBytes(files.keyFile, `${setting}.key_file`, secrets);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ConfigError(`${setting}: ${files.certFile} and ${files.keyFile} are not a certificate and its key: ${(error as Error).message}`);
  }
  return { cert, key };
}

type CertificateProvider = experimental.CertificateProvider;
type IdentityListener = Parameters<CertificateProvider["addIdentityCertificateListener"]>[0];

/** grpc-js's view of the gRPC server's certificate: replaced in place by update(). */
export class ReloadableIdentity implements CertificateProvider {
  private current: TlsIdentity;
  private readonly listeners = new Set<IdentityListener>();
  constructor(identity: TlsIdentity) {
    this.current = identity;
  }
  update(identity: TlsIdentity): void {
    this.current = identity;
    for (const listener of this.listeners) listener({ certificate: identity.cert, privateKey: identity.key });
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.add(listener);
    // Not at once: grpc-js registers the server's watcher only after adding this listener, and
    // would drop an update that came before it (the server then refuses every handshake).
    queueMicrotask(() => this.listeners.has(listener) && listener({ certificate: this.current.cert, privateKey: this.current.key }));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.listeners.delete(listener);
  }
  // The server asks for no client certificate: no CA to provide.
  addCaCertificateListener(): void {}
  removeCaCertificateListener(): void {}
}
