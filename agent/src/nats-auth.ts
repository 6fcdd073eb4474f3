// NATS authentication and TLS from the agent's config. Files are read once at
// start, so a missing or unreadable one stops the agent with the setting named
// instead of surfacing later as a connection that never authenticates.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { PeerCertificate } from "node:tls";
import { credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";
import type { AgentConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

type ReadFile = (path: string) => string;

const readText: ReadFile = (path) => readFileSync(path, "utf8");

export function natsConnectOptions(config: AgentConfig, readFile: ReadFile = readText): Partial<ConnectionOptions> {
  const read = (path: string, setting: string) => {
    try {
      return readFile(path);
    } catch (error) {
      throw new ConfigError(`invalid ${setting} ${JSON.stringify(path)}: ${(error as Error).message}`);
    }
  };
  const options: Partial<ConnectionOptions> = {};
  if (config.credsFile !== undefined) {
    const creds = read(config.credsFile, "creds");
    if (!/-----BEGIN NATS USER JWT-----/.test(creds) || !/-----BEGIN USER NKEY SEED-----/.test(creds)) {
      throw new ConfigError(`invalid creds ${JSON.stringify(config.credsFile)}: not a NATS .creds file (no user JWT and nkey seed)`);
    }
    options.authenticator = credsAuthenticator(new TextEncoder().encode(creds));
  } else if (config.nkeySeedFile !== undefined) {
    const seed = /\bSU[A-Z2-7]{56}\b/.exec(read(config.nkeySeedFile, "nkey"))?.[0];
    if (!seed) throw new ConfigError(`invalid nkey ${JSON.stringify(config.nkeySeedFile)}: no user nkey seed (SU...) in the file`);
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (config.natsToken !== undefined) {
    options.authenticator = tokenAuthenticator(config.natsToken);
  } else if (config.natsUser !== undefined) {
    options.authenticator = usernamePasswordAuthenticator(config.natsUser, config.natsPassword);
  }
  if (config.tlsCaFile !== undefined || config.tlsCertFile !== undefined) {
    options.tls = {
      ...(config.tlsCaFile !== undefined && { ca: read(config.tlsCaFile, "tls ca") }),
      ...(config.tlsCertFile !== undefined && { cert: read(config.tlsCertFile, "tls cert") }),
      ...(config.tlsKeyFile !== undefined && { key: read(config.tlsKeyFile, "tls key") }),
    };
  } else if (config.natsServers.some((server) => server.startsWith("tls://"))) {
    // tls:// asks for TLS with the system's CAs.
    options.tls = {};
  }
  if (options.tls) {
    const checkServerIdentity = serverIdentityCheck(config.natsServers);
    if (checkServerIdentity) options.tls = { ...options.tls, checkServerIdentity } as typeof options.tls;
  }
  return options;
}

type IdentityCheck = (hostname: string, cert: PeerCertificate) => Error | undefined;

/**
 * The NATS client gives TLS no server name for a server given by IP address
 * (nats-io/nats.js#303), so Node checks the certificate against "localhost"
 * and a certificate for the IP (subjectAltName IP:10.0.0.5) never passes.
 * Where that happens, the certificate is checked against the IP addresses
 * configured instead. The chain is verified against the CA either way.
 */
export function serverIdentityCheck(servers: readonly string[]): IdentityCheck | undefined {
  const addresses = servers.map((server) => new URL(server).hostname.replace(/^\[(.*)\]$/, "$1")).filter((host) => isIP(host) !== 0);
  if (addresses.length === 0) return undefined;
  return (hostname, cert) => {
    // node:tls is loaded here, not at start: a TLS connection has loaded it already.
    const check = process.getBuiltinModule("node:tls").checkServerIdentity;
    const named = check(hostname, cert);
    if (!named || hostname !== "localhost") return named;
    return addresses.some((address) => check(address, cert) === undefined) ? undefined : named;
  };
}
