// Collector configuration: defaults → netmap.yaml → environment → flags,
// validated once and frozen. No network here.
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { readSecretFile, type SecretFileOptions } from "../../lib/secret-file.ts";
import { deepFreeze, parseDurationSeconds, parseSizeBytes, parseYamlConfig } from "../../lib/settings.ts";
import { NATS_SERVERS_EXPECTED, parseNatsServers } from "../../lib/nats-servers.ts";
import { AGENT_INBOX_ROOT, COLLECTOR_INBOX_PREFIX, isInboxPrefix } from "../../proto/src/subjects.ts";
import type { NotifierConfig } from "./alerts/dispatch.ts";
import { checksConfigSchema, collectorChecks, type CollectorCheck } from "./checks/config.ts";
import { rulesConfigSchema, type RulesConfig } from "./alerts/settings.ts";
import { ConfigError } from "./errors.ts";
import { DEFAULT_THROTTLE, type ThrottleSettings } from "./auth/throttle.ts";
import type { TlsFiles } from "./tls.ts";
import type { AgentAuthorizationConfig } from "./nats/agent-identities.ts";
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from "./nats/streams.ts";
import { proxmoxClusterSchema, proxmoxClusters, type ProxmoxClusterConfig } from "./proxmox/config.ts";
import { snmpTargetSchema, snmpTargets, type SnmpTargetConfig } from "./snmp/config.ts";
import { DEFAULT_RETENTION, retentionSchema, type Retention } from "./series/retention.ts";
import { sshClientConfig, sshClientSchema, terminalConfig, terminalSchema, type SshClientConfig, type TerminalConfig } from "./terminal/config.ts";

export interface CollectorConfig {
  /** The NATS servers to try, in order: one, or the nodes of a cluster (nats.url comma-separated). */
  readonly natsServers: readonly string[];
  /** Where NATS replies to the collector arrive: its NATS user subscribes to `<prefix>.>` and no agent's may. */
  readonly natsInboxPrefix: string;
  /** The collector's own nkey seed file (nats.nkey_file); null: the URL's user and password, if any. */
  readonly natsNkeyFile: string | null;
  /** Where the collector writes agents' NATS identities and how it reloads nats-server; null: it mints none. */
  readonly agentAuthorization: AgentAuthorizationConfig | null;
  readonly streams: StreamLimits;
  readonly databaseUrl: string;
  readonly http: ListenerConfig;
  readonly grpc: ListenerConfig;
  /** The admin token (token_file or NETMAP_TOKEN), HTTP and gRPC alike; null: serve makes one. Named tokens are in the database. */
  readonly token: string | null;
  /** Failed authentications an address may make before it is blocked, and for how long (auth/throttle.ts). */
  readonly authThrottle: ThrottleSettings;
  /** A host is stale after this long without a report, down after downAfterSeconds. */
  readonly staleAfterSeconds: number;
  readonly downAfterSeconds: number;
  /** readyMaxLag: /readyz answers 503 while more reports than this wait in the consumer (stored by no collector yet). */
  readonly ingest: { readonly batchSize: number; readonly consumer: string; readonly readyMaxLag: number };
  readonly logLevel: string;
  /** auto: human-readable lines on a terminal, JSON otherwise. */
  readonly logFormat: "auto" | "json" | "pretty";
  /** Where people reach the status page; links in notifications point there. */
  readonly externalUrl: string;
  readonly notifiers: readonly NotifierConfig[];
  readonly rules: RulesConfig;
  /** Synthetic checks sent to the agents they select (`checks:`, docs/configuration.md). */
  readonly checks: readonly CollectorCheck[];
  /** Proxmox VE clusters to discover and monitor (docs/proxmox.md). */
  readonly proxmox: readonly ProxmoxClusterConfig[];
  /** Network devices polled over SNMP (docs/snmp.md). */
  readonly snmp: readonly SnmpTargetConfig[];
  /** How long each resolution of the time series is kept, in seconds (docs/configuration.md). */
  readonly retention: Retention;
  /** How the collector logs in to hosts itself, for the web terminal (docs/terminal.md). */
  readonly ssh: SshClientConfig;
  /** Terminal sessions: limits, idle timeout, recording (docs/terminal.md). */
  readonly terminal: TerminalConfig;
  /** How secret files (token_file, secret_file, token_secret_file, tls key_file) are read. */
  readonly secrets: SecretFileOptions;
  readonly configFile: string | undefined;
  /** The ed25519 key agent releases are signed with (`netmap agent upgrade`, docs/upgrades.md); made on first use. */
  readonly releaseKeyFile: string;
}

export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  /** The server's certificate and key (http.tls, grpc.tls); null: plain. */
  readonly tls: TlsFiles | null;
  /** Plain off loopback on purpose (a TLS proxy in front, a private link): http.insecure, grpc.insecure. */
  readonly insecure: boolean;
}

export const DEFAULT_CONFIG_FILE = "netmap.yaml";
export const DEFAULT_RELEASE_KEY_FILE = "netmap-release.key";

const tlsFiles = z.object({ cert_file: z.string().min(1), key_file: z.string().min(1) }).strict();

const address = (setting: string) =>
  z.string().transform((value, ctx) => {
    const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 0 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `${setting}: expected HOST:PORT, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });

const url = (setting: string, protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `${setting}: expected a ${protocols.map((p) => p.replace(":", "://")).join(" or ")} URL`);

const duration = (setting: string) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const seconds = parseDurationSeconds(value);
    if (seconds === undefined || seconds <= 0) {
      ctx.addIssue({ code: "custom", message: `${setting}: expected a positive duration like 30s or 2m, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return seconds;
  });

const size = (setting: string, min: number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const bytes = parseSizeBytes(value);
    if (bytes === undefined || bytes < min) {
      ctx.addIssue({ code: "custom", message: `${setting}: expected a size like 4GiB or 500MB, at least ${min / 1024 ** 2} MiB, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return bytes;
  });

const notifierName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "expected a name of letters, digits, _ . -");

const fileSchema = z
  .object({
    nats: z
      .object({
        url: z.string().transform((value, ctx) => parseNatsServers(value) ?? (ctx.addIssue({ code: "custom", message: `nats.url: ${NATS_SERVERS_EXPECTED}` }), z.NEVER)),
        inbox_prefix: z
          .string()
          .refine(isInboxPrefix, "nats.inbox_prefix: expected subject tokens of letters, digits, _ $ -, separated by dots, no wildcards")
          .refine((prefix) => !`${prefix}.`.startsWith(`${AGENT_INBOX_ROOT}.`), `nats.inbox_prefix: ${AGENT_INBOX_ROOT} is the agents' (each may read its own inbox there)`),
        nkey_file: z.string().min(1),
        agent_authorization: z.object({ file: z.string().min(1), pid_file: z.string().min(1) }).strict(),
      })
      .strict()
      .partial(),
    streams: z
      .object({
        reports: z
          .object({
            max_bytes: size("streams.reports.max_bytes", 16 * 1024 ** 2),
            // Its own message: zod's would lose the setting's name (describeIssues keeps a message with a colon as it is).
            max_msgs_per_agent: z.unknown().refine((n) => Number.isSafeInteger(n) && (n as number) >= 10, "streams.reports.max_msgs_per_agent: expected a whole number, at least 10").transform(Number),
          })
          .strict()
          .partial(),
        events: z.object({ max_bytes: size("streams.events.max_bytes", 16 * 1024 ** 2) }).strict().partial(),
      })
      .strict()
      .partial(),
    database: z.object({ url: url("database.url", ["postgres:", "postgresql:"]) }).strict().partial(),
    http: z.object({ addr: address("http.addr"), external_url: url("http.external_url", ["http:", "https:"]), tls: tlsFiles, insecure: z.boolean() }).strict().partial(),
    grpc: z.object({ addr: address("grpc.addr"), tls: tlsFiles, insecure: z.boolean() }).strict().partial(),
    token_file: z.string().min(1),
    release_key_file: z.string().min(1),
    // Secret files group or others may read are refused unless this says something else guards them.
    allow_readable_secrets: z.boolean(),
    auth: z
      .object({ max_failures: z.number().int().min(1).max(1_000_000), failure_window: duration("auth.failure_window") })
      .strict()
      .partial(),
    hosts: z.object({ stale_after: duration("hosts.stale_after"), down_after: duration("hosts.down_after") }).strict().partial(),
    ingest: z
      .object({ batch_size: z.number().int().min(1).max(10_000), consumer: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), ready_max_lag: z.number().int().min(0) })
      .strict()
      .partial(),
    log: z.object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]), format: z.enum(["auto", "json", "pretty"]) }).strict().partial(),
    // Sections owned by later capabilities; accepted so one file serves them all.
    proxmox: z.array(proxmoxClusterSchema),
    snmp: z.array(snmpTargetSchema),
    notifiers: z.array(
      z.discriminatedUnion("type", [
        z.object({ name: notifierName, type: z.literal("webhook"), url: url("notifiers[].url", ["http:", "https:"]), secret_file: z.string().min(1).optional() }).strict(),
        z.object({ name: notifierName, type: z.literal("alertmanager"), url: url("notifiers[].url", ["http:", "https:"]) }).strict(),
      ]),
    ),
    rules: rulesConfigSchema,
    retention: retentionSchema,
    ssh: sshClientSchema,
    terminal: terminalSchema,
    checks: checksConfigSchema,
  })
  .strict()
  .partial();

export interface ConfigSources {
  /** --config FILE, if given. */
  configFlag?: string;
  env: Record<string, string | undefined>;
  /** Flags that override everything, e.g. --nats. */
  flags?: { natsUrl?: string };
  cwd?: string;
}

export function loadCollectorConfig(sources: ConfigSources): CollectorConfig {
  const { env } = sources;
  const configFile = sources.configFlag ?? env.NETMAP_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const file = configFile ? readConfigFile(configFile) : {};

  const merged = {
    ...file,
    nats: { ...file.nats, ...defined({ url: env.NETMAP_NATS_URL }), ...defined({ url: sources.flags?.natsUrl }) },
    database: { ...file.database, ...defined({ url: env.NETMAP_DATABASE_URL }) },
    http: { ...file.http, ...defined({ addr: env.NETMAP_HTTP_ADDR }) },
    grpc: { ...file.grpc, ...defined({ addr: env.NETMAP_GRPC_ADDR }) },
    log: { ...file.log, ...defined({ level: env.NETMAP_LOG_LEVEL, format: env.NETMAP_LOG_FORMAT }) },
  };
  // One token serves HTTP and gRPC since the HTTP API needs it too; say where the old setting went.
  if ((file.grpc as Record<string, unknown> | undefined)?.token_file !== undefined) {
    throw new ConfigError(`grpc.token_file: the token now covers the HTTP API as well; write it as token_file at the top level${configFile ? ` of ${configFile}` : ""}`);
  }
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, configFile));
  const c = parsed.data;

  const staleAfterSeconds = c.hosts?.stale_after ?? 30;
  const downAfterSeconds = c.hosts?.down_after ?? 120;
  if (downAfterSeconds <= staleAfterSeconds) {
    throw new ConfigError(`hosts.down_after (${downAfterSeconds}s) must be longer than hosts.stale_after (${staleAfterSeconds}s)`);
  }
  const listener = (section: typeof c.http, fallback: number): ListenerConfig => ({
    ...(section?.addr ?? { host: "127.0.0.1", port: fallback }),
    tls: section?.tls ? { certFile: section.tls.cert_file, keyFile: section.tls.key_file } : null,
    insecure: section?.insecure ?? false,
  });
  const http = listener(c.http, 7070);
  const grpc = listener(c.grpc, 7071);
  const secrets: SecretFileOptions = { allowReadable: c.allow_readable_secrets ?? false };
  const token = configuredToken(c.token_file, env.NETMAP_TOKEN, secrets);
  // Without a configured token serve makes one that only its own user can read: fine on loopback,
  // useless to anyone else, so an address other people can reach needs a token given on purpose.
  if (token === null) {
    for (const [setting, host, what] of [["http.addr", http.host, "the HTTP API"], ["grpc.addr", grpc.host, "the admin service"]] as const) {
      if (!isLoopback(host)) throw new ConfigError(`${setting}: ${host} is not a loopback address; ${what} needs a token there (token_file or NETMAP_TOKEN)`);
    }
  }
  // Off loopback a token crosses the network: encrypted, unless someone says it already is.
  for (const [section, { host, tls, insecure }] of [["http", http], ["grpc", grpc]] as const) {
    if (!isLoopback(host) && !tls && !insecure) {
      throw new ConfigError(
        `${section}.addr: ${host} is not a loopback address and ${section}.tls is not set; give ${section}.tls { cert_file, key_file }, ` +
          `or set ${section}.insecure: true if a TLS proxy or a private link protects it`,
      );
    }
  }
  const agentAuthorization = c.nats?.agent_authorization ? { file: c.nats.agent_authorization.file, pidFile: c.nats.agent_authorization.pid_file } : null;
  // The file the collector writes names its own user by nkey: without one it would lock itself out.
  if (agentAuthorization && !c.nats?.nkey_file) throw new ConfigError("nats.agent_authorization: needs nats.nkey_file, the collector's own nkey, which the file it writes lets in");
  return deepFreeze({
    natsServers: c.nats?.url ?? ["nats://127.0.0.1:4222"],
    natsNkeyFile: c.nats?.nkey_file ?? null,
    agentAuthorization,
    natsInboxPrefix: c.nats?.inbox_prefix ?? COLLECTOR_INBOX_PREFIX,
    streams: {
      reports: { ...DEFAULT_STREAM_LIMITS.reports, ...defined({ maxBytes: c.streams?.reports?.max_bytes, maxMsgsPerAgent: c.streams?.reports?.max_msgs_per_agent }) },
      events: { ...DEFAULT_STREAM_LIMITS.events, ...defined({ maxBytes: c.streams?.events?.max_bytes }) },
    },
    databaseUrl: c.database?.url ?? "postgres://127.0.0.1:5432/netmap",
    http,
    externalUrl: c.http?.external_url ?? `${http.tls ? "https" : "http"}://${http.host.includes(":") ? `[${http.host}]` : http.host}:${http.port}/`,
    notifiers: notifiers(c.notifiers ?? [], secrets),
    proxmox: proxmoxClusters(c.proxmox ?? [], secrets),
    snmp: snmpTargets(c.snmp ?? [], secrets),
    secrets,
    releaseKeyFile: c.release_key_file ?? DEFAULT_RELEASE_KEY_FILE,
    rules: c.rules ?? {},
    checks: collectorChecks(c.checks ?? [], configFile ?? "the configuration"),
    retention: c.retention ?? DEFAULT_RETENTION,
    ssh: sshClientConfig(c.ssh, env, secrets),
    terminal: terminalConfig(c.terminal),
    grpc,
    token,
    authThrottle: { maxFailures: c.auth?.max_failures ?? DEFAULT_THROTTLE.maxFailures, windowSeconds: c.auth?.failure_window ?? DEFAULT_THROTTLE.windowSeconds },
    staleAfterSeconds,
    downAfterSeconds,
    ingest: { batchSize: c.ingest?.batch_size ?? 500, consumer: c.ingest?.consumer ?? "netmap-collector", readyMaxLag: c.ingest?.ready_max_lag ?? 10_000 },
    logLevel: c.log?.level ?? "info",
    logFormat: c.log?.format ?? "auto",
    configFile,
  });
}

function readConfigFile(path: string): z.input<typeof fileSchema> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (error as Error).message}`);
  }
  const value = parseYamlConfig(text, path);
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`config file ${path}: expected a mapping at the top level`);
  return value as z.input<typeof fileSchema>;
}

function describeIssues(error: z.ZodError, file: string | undefined): string {
  const where = file ? ` (in ${file} or the environment)` : "";
  return error.issues
    .map((issue) => {
      const path = issue.path.join(".");
      if (issue.code === "unrecognized_keys") return `unknown setting ${[path, ...issue.keys].filter(Boolean).join(".")}${where}`;
      return issue.message.includes(":") ? issue.message : `${path}: ${issue.message}`;
    })
    .join("; ");
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The token from NETMAP_TOKEN, else from token_file; null when neither is given. */
function configuredToken(tokenFile: string | undefined, envToken: string | undefined, secrets: SecretFileOptions): string | null {
  if (envToken !== undefined) {
    const token = envToken.trim();
    if (!token) throw new ConfigError("NETMAP_TOKEN is set but empty");
    return token;
  }
  if (!tokenFile) return null;
  return readSecretFile(tokenFile, "token_file", secrets);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Notifiers with their secrets read (from files, never inline in the config). */
function notifiers(given: NonNullable<z.output<typeof fileSchema>["notifiers"]>, secrets: SecretFileOptions): NotifierConfig[] {
  const seen = new Set<string>();
  return given.map((n, index) => {
    if (seen.has(n.name)) throw new ConfigError(`notifiers[${index}].name: ${JSON.stringify(n.name)} is used twice`);
    seen.add(n.name);
    if (n.type === "alertmanager") return { name: n.name, type: n.type, url: n.url };
    const secret = n.secret_file ? readSecretFile(n.secret_file, `notifiers[${index}].secret_file`, secrets) : null;
    return { name: n.name, type: n.type, url: n.url, secret };
  });
}
