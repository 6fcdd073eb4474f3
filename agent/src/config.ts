// Agent configuration: defaults → /etc/netmap/agent.yaml (or --config F) →
// environment → flags. Each setting is validated where it was given, so the
// message names the flag, variable or file line to fix. Frozen. No network.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
// zod/mini: the same validation as the collector's zod, but tree-shakable, so
// the agent binary carries ~20 KiB of it instead of ~440 KiB (docs/agent.md).
import * as z from "zod/mini";
import { isAgentId } from "../../proto/src/subjects.ts";
import { releasePublicKeyDer } from "../../proto/src/release.ts";
import { parseDurationSeconds, parseSizeBytes, parseYamlConfig } from "../../lib/settings.ts";
import { NATS_SERVERS_EXPECTED, parseNatsServers } from "../../lib/nats-servers.ts";
import { ConfigError } from "./errors.ts";
import { REFRESH_SECONDS } from "./checks/remote.ts";
import { checksFileSchema, parseChecks, type CheckConfig } from "../../proto/src/check-config.ts";

export interface AgentConfig {
  readonly natsServers: readonly string[];
  readonly intervalSeconds: number;
  /** Holds the on-disk spool (in reports/). */
  readonly spoolDir: string;
  /** Bound of the spool; beyond it the oldest reports are dropped. */
  readonly spoolMaxBytes: number;
  /** NATS authentication: at most one of user/password, token, nkey seed, creds. */
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
  readonly natsToken: string | undefined;
  readonly nkeySeedFile: string | undefined;
  readonly credsFile: string | undefined;
  /** TLS: a CA to verify the server with, and a client certificate and key for mutual TLS. */
  readonly tlsCaFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  /** Overrides the id derived from /etc/machine-id. */
  readonly agentId: string | undefined;
  readonly once: boolean;
  readonly json: boolean;
  readonly logLevel: string;
  readonly configFile: string | undefined;
  /** --print-config: show the effective config, secrets masked, and exit. */
  readonly printConfig: boolean;
  /** Synthetic checks (`checks:` in the file; proto/src/check-config.ts); none by default. */
  readonly checks: readonly CheckConfig[];
  /** Where failed SSH authentications are read (auth-log.ts, journal.ts): "off" (the default), "auto", "journal", or a file's absolute path. */
  readonly authLog: string;
  /** The sliding window failed authentications are counted over. */
  readonly authLogWindowSeconds: number;
  /** fail2ban-client's socket (-s) when fail2ban's is not the default; jails are reported with ssh_auth (fail2ban.ts). */
  readonly fail2banSocket: string | undefined;
  /** How often the agent asks the collector for the checks netmap.yaml gives it (checks/remote.ts). */
  readonly checksRefreshSeconds: number;
  /** The Engine API socket containers are read from (engine-api.ts): "auto" (the default), "off", or a socket's absolute path. */
  readonly containers: string;
  /** The collector's ed25519 release public key (base64 SPKI); unset: upgrades over NATS are refused (docs/upgrades.md). */
  readonly releaseKey: string | undefined;
}

/** Settings whose values --print-config never shows. */
export const SECRET_SETTINGS = ["natsPassword", "natsToken"] as const;

export type AgentCommand = { readonly command: "help" } | { readonly command: "version" } | { readonly command: "run"; readonly config: AgentConfig };

export interface ConfigInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a file as text; throws (with code ENOENT when absent) like fs.readFileSync. */
  readFile: (path: string) => string;
}

export const DEFAULT_CONFIG_FILE = "/etc/netmap/agent.yaml";
export const DEFAULT_SPOOL_DIR = "/var/lib/netmap-agent";
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
export const DEFAULT_INTERVAL_SECONDS = 10;
export const DEFAULT_SPOOL_MAX_BYTES = 100 * 1024 * 1024;
const MIN_INTERVAL_SECONDS = 0.1;
export const DEFAULT_AUTH_LOG_WINDOW_SECONDS = 600;

export const USAGE = `Usage: netmap-agent [--config F] [--nats URL] [--interval D] [--spool-dir DIR] [--creds F] [--agent-id ID]
       netmap-agent --once --json      collect once, print the report as JSON, touch no network

  --config F      config file (default ${DEFAULT_CONFIG_FILE} if present)
  --nats URL      NATS server(s), comma-separated (NETMAP_NATS_URL; default ${DEFAULT_NATS_URL})
  --interval D    collection interval like 10s, 1m, 500ms (NETMAP_AGENT_INTERVAL; default 10s)
  --spool-dir DIR state directory (NETMAP_SPOOL_DIR; default ${DEFAULT_SPOOL_DIR})
  --spool-max-size S  bound of the on-disk spool, like 100MB, 1GiB (NETMAP_SPOOL_MAX_SIZE; default 100MB)
  --creds F       NATS credentials (.creds) file (NETMAP_NATS_CREDS)
  --nkey F        file holding an NATS nkey seed (NETMAP_NATS_NKEY)
  --tls-ca F      CA certificate(s) to verify the NATS server (NETMAP_NATS_TLS_CA)
  --tls-cert F    client certificate for mutual TLS (NETMAP_NATS_TLS_CERT), with --tls-key F (NETMAP_NATS_TLS_KEY)
                  user/password and token: nats.user, nats.password, nats.token in the file,
                  or NETMAP_NATS_USER, NETMAP_NATS_PASSWORD, NETMAP_NATS_TOKEN (never flags: ps shows flags)
  --release-key K the collector's release public key (NETMAP_RELEASE_KEY; release_key in the file):
                  with it the agent takes upgrades over NATS signed by that key, without it none
  --agent-id ID   agent id, [a-z0-9_-]{1,64} (NETMAP_AGENT_ID; default derived from /etc/machine-id)
  --log-level L   trace, debug, info, warn, error (NETMAP_LOG_LEVEL; default info)
  --once          collect one report and exit
  --json          print reports as JSON on stdout instead of publishing (with --once)
  --print-config  print the effective config (secrets masked) and exit
  --help, --version`;

const FLAG_OPTIONS = {
  config: { type: "string" },
  nats: { type: "string" },
  interval: { type: "string" },
  "spool-dir": { type: "string" },
  creds: { type: "string" },
  nkey: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "spool-max-size": { type: "string" },
  "print-config": { type: "boolean" },
  "agent-id": { type: "string" },
  "release-key": { type: "string" },
  "log-level": { type: "string" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

const fileSchema = z.partial(
  z.strictObject({
    nats: z.partial(
      z.strictObject({
        url: z.string(),
        creds: z.string(),
        user: z.string(),
        password: z.string(),
        token: z.string(),
        nkey: z.string(),
        tls: z.partial(z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() })),
      }),
    ),
    interval: z.union([z.string(), z.number()]),
    spool_dir: z.string(),
    spool_max_size: z.union([z.string(), z.number()]),
    agent_id: z.string(),
    log: z.partial(z.strictObject({ level: z.string() })),
    checks: checksFileSchema,
    auth_log: z.string(),
    auth_log_window: z.union([z.string(), z.number()]),
    checks_refresh: z.union([z.string(), z.number()]),
    fail2ban_socket: z.string(),
    containers: z.string(),
    release_key: z.string(),
  }),
);

type FileSettings = z.infer<typeof fileSchema>;

/** A setting's raw value turned into its config value, or undefined when it is not valid. */
const convert = <T>(input: z.ZodMiniType, to: (value: never) => T | undefined) =>
  z.pipe(input, z.transform((value, ctx) => {
    const converted = to(value as never);
    if (converted === undefined) ctx.issues.push({ code: "custom", message: "invalid", input: value });
    return converted as T;
  }));
const path = z.pipe(z.string().check(z.minLength(1)), z.transform((value) => resolve(value)));
const nonEmpty = z.string().check(z.minLength(1));
const autoOffOrPath = convert(z.string(), (value: string) => (value === "auto" || value === "off" ? value : value.length > 0 ? resolve(value) : undefined));
const authLogSetting = convert(z.string(), (value: string) => (value === "auto" || value === "off" || value === "journal" ? value : value.length > 0 ? resolve(value) : undefined));

// Each setting: a schema turning the raw value into the config value, and what it expects.
const settings = {
  nats: {
    expected: NATS_SERVERS_EXPECTED,
    schema: convert(z.string(), parseNatsServers),
  },
  interval: {
    expected: "expected a duration like 10s",
    schema: convert(z.union([z.string(), z.number()]), (value: string | number) => {
      const seconds = parseDurationSeconds(value);
      return seconds !== undefined && seconds >= MIN_INTERVAL_SECONDS ? seconds : undefined;
    }),
  },
  "spool-dir": { expected: "expected a directory path", schema: path },
  "spool-max-size": {
    expected: "expected a size like 100MB or 1GiB, at least 1MB",
    schema: convert(z.union([z.string(), z.number()]), (value: string | number) => {
      const bytes = parseSizeBytes(value);
      return bytes !== undefined && bytes >= 1_000_000 ? bytes : undefined;
    }),
  },
  creds: { expected: "expected a path to a NATS .creds file", schema: path },
  nkey: { expected: "expected a path to a file holding an nkey seed", schema: path },
  "tls-ca": { expected: "expected a path to a PEM CA file", schema: path },
  "tls-cert": { expected: "expected a path to a PEM certificate", schema: path },
  "tls-key": { expected: "expected a path to a PEM private key", schema: path },
  user: { expected: "expected a user name", schema: nonEmpty },
  password: { expected: "expected a password", schema: nonEmpty },
  token: { expected: "expected a token", schema: nonEmpty },
  "agent-id": { expected: "expected 1-64 characters of [a-z0-9_-]", schema: z.string().check(z.refine(isAgentId)) },
  "log-level": { expected: "expected one of trace, debug, info, warn, error, fatal", schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]) },
  "auth-log-window": {
    expected: "expected a duration of at least 1s, like 10m",
    schema: convert(z.union([z.string(), z.number()]), (value: string | number) => {
      const seconds = parseDurationSeconds(value);
      return seconds !== undefined && seconds >= 1 ? seconds : undefined;
    }),
  },
  "fail2ban-socket": { expected: "expected the path of fail2ban's socket", schema: path },
  "checks-refresh": {
    expected: "expected a duration of at least 1s, like 1m",
    schema: convert(z.union([z.string(), z.number()]), (value: string | number) => {
      const seconds = parseDurationSeconds(value);
      return seconds !== undefined && seconds >= 1 ? seconds : undefined;
    }),
  },
  containers: { expected: "expected auto, off or the path of a Docker or Podman API socket", schema: autoOffOrPath },
  "auth-log": { expected: "expected auto, off, journal or the path of a log file sshd writes to", schema: authLogSetting },
  "release-key": {
    expected: "expected an ed25519 public key as `netmap agent upgrade` prints it (base64, starting MCowBQYDK2VwAyEA)",
    schema: z.string().check(z.refine((value) => releasePublicKeyDer(value) !== undefined)),
  },
} as const;

type SettingName = keyof typeof settings;

interface Given {
  value: unknown;
  /** Where it was given, for the error message: "--interval", "NETMAP_AGENT_INTERVAL", "interval in F". */
  origin: string;
}

export function loadAgentConfig(inputs: ConfigInputs): AgentCommand {
  let flags: ReturnType<typeof parseArgs<{ options: typeof FLAG_OPTIONS; strict: true }>>["values"];
  try {
    flags = parseArgs({ args: [...inputs.argv], options: FLAG_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message.replace(/\. To specify.*$/s, "")} (see --help)`);
  }
  if (flags.help) return Object.freeze({ command: "help" });
  if (flags.version) return Object.freeze({ command: "version" });

  const { env } = inputs;
  const configFile = flags.config ?? DEFAULT_CONFIG_FILE;
  const file = readConfigFile(inputs.readFile, configFile, flags.config !== undefined);
  const fileName = file ? configFile : undefined;
  const inFile = (key: string) => `${key} in ${configFile}`;

  const pick = (name: SettingName, candidates: (Given | undefined)[]) => {
    const given = candidates.find((c) => c !== undefined && c.value !== undefined);
    if (!given) return undefined;
    const parsed = settings[name].schema.safeParse(given.value);
    if (!parsed.success) {
      const secret = name === "password" || name === "token";
      const shown = secret ? "(not shown)" : typeof given.value === "string" ? JSON.stringify(given.value) : String(JSON.stringify(given.value));
      throw new ConfigError(`invalid ${name.replaceAll("-", " ")} ${shown} (${given.origin}): ${settings[name].expected}`);
    }
    return parsed.data;
  };
  const flag = (name: SettingName & keyof typeof flags): Given => ({ value: flags[name], origin: `--${name}` });
  const fromEnv = (variable: string): Given => ({ value: env[variable] === "" ? undefined : env[variable], origin: variable });
  const fromFile = (key: string, value: unknown): Given => ({ value, origin: inFile(key) });

  const natsServers = pick("nats", [flag("nats"), fromEnv("NETMAP_NATS_URL"), fromFile("nats.url", file?.nats?.url)]) as string[] | undefined;
  const intervalSeconds = pick("interval", [flag("interval"), fromEnv("NETMAP_AGENT_INTERVAL"), fromFile("interval", file?.interval)]) as number | undefined;
  const spoolDir = pick("spool-dir", [flag("spool-dir"), fromEnv("NETMAP_SPOOL_DIR"), fromFile("spool_dir", file?.spool_dir)]) as string | undefined;
  const spoolMaxBytes = pick("spool-max-size", [flag("spool-max-size"), fromEnv("NETMAP_SPOOL_MAX_SIZE"), fromFile("spool_max_size", file?.spool_max_size)]) as number | undefined;
  const credsFile = pick("creds", [flag("creds"), fromEnv("NETMAP_NATS_CREDS"), fromFile("nats.creds", file?.nats?.creds)]) as string | undefined;
  const nkeySeedFile = pick("nkey", [flag("nkey"), fromEnv("NETMAP_NATS_NKEY"), fromFile("nats.nkey", file?.nats?.nkey)]) as string | undefined;
  const natsUser = pick("user", [fromEnv("NETMAP_NATS_USER"), fromFile("nats.user", file?.nats?.user)]) as string | undefined;
  const natsPassword = pick("password", [fromEnv("NETMAP_NATS_PASSWORD"), fromFile("nats.password", file?.nats?.password)]) as string | undefined;
  const natsToken = pick("token", [fromEnv("NETMAP_NATS_TOKEN"), fromFile("nats.token", file?.nats?.token)]) as string | undefined;
  const tlsCaFile = pick("tls-ca", [flag("tls-ca"), fromEnv("NETMAP_NATS_TLS_CA"), fromFile("nats.tls.ca", file?.nats?.tls?.ca)]) as string | undefined;
  const tlsCertFile = pick("tls-cert", [flag("tls-cert"), fromEnv("NETMAP_NATS_TLS_CERT"), fromFile("nats.tls.cert", file?.nats?.tls?.cert)]) as string | undefined;
  const tlsKeyFile = pick("tls-key", [flag("tls-key"), fromEnv("NETMAP_NATS_TLS_KEY"), fromFile("nats.tls.key", file?.nats?.tls?.key)]) as string | undefined;
  const agentId = pick("agent-id", [flag("agent-id"), fromEnv("NETMAP_AGENT_ID"), fromFile("agent_id", file?.agent_id)]) as string | undefined;
  const authLog = pick("auth-log", [fromEnv("NETMAP_AUTH_LOG"), fromFile("auth_log", file?.auth_log)]) as string | undefined;
  const authLogWindowSeconds = pick("auth-log-window", [fromFile("auth_log_window", file?.auth_log_window)]) as number | undefined;
  const fail2banSocket = pick("fail2ban-socket", [fromFile("fail2ban_socket", file?.fail2ban_socket)]) as string | undefined;
  const checksRefreshSeconds = pick("checks-refresh", [fromFile("checks_refresh", file?.checks_refresh)]) as number | undefined;
  const containers = pick("containers", [fromEnv("NETMAP_CONTAINERS"), fromFile("containers", file?.containers)]) as string | undefined;
  const releaseKey = pick("release-key", [flag("release-key"), fromEnv("NETMAP_RELEASE_KEY"), fromFile("release_key", file?.release_key)]) as string | undefined;
  const logLevel = pick("log-level", [flag("log-level"), fromEnv("NETMAP_LOG_LEVEL"), fromFile("log.level", file?.log?.level)]) as string | undefined;

  const checks = file?.checks ? parseChecks(file.checks, configFile) : [];

  if (flags.json && !flags.once) throw new ConfigError("--json needs --once: the loop publishes to NATS");
  const methods = [
    natsUser !== undefined || natsPassword !== undefined ? "user/password" : undefined,
    natsToken !== undefined ? "token" : undefined,
    nkeySeedFile !== undefined ? "nkey" : undefined,
    credsFile !== undefined ? "creds" : undefined,
  ].filter(Boolean);
  if (methods.length > 1) throw new ConfigError(`NATS authentication: ${methods.join(" and ")} are both set; choose one`);
  if (natsPassword !== undefined && natsUser === undefined) throw new ConfigError("NATS authentication: a password needs a user (nats.user, NETMAP_NATS_USER)");
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new ConfigError("NATS TLS: a client certificate needs its key and a key its certificate (--tls-cert with --tls-key)");
  }

  return Object.freeze({
    command: "run",
    config: Object.freeze({
      natsServers: Object.freeze(natsServers ?? [DEFAULT_NATS_URL]),
      intervalSeconds: intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
      spoolDir: spoolDir ?? DEFAULT_SPOOL_DIR,
      spoolMaxBytes: spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES,
      natsUser,
      natsPassword,
      natsToken,
      nkeySeedFile,
      credsFile,
      tlsCaFile,
      tlsCertFile,
      tlsKeyFile,
      agentId,
      once: flags.once ?? false,
      json: flags.json ?? false,
      logLevel: logLevel ?? "info",
      configFile: fileName,
      printConfig: flags["print-config"] ?? false,
      checks: Object.freeze(checks.map((c) => Object.freeze(c))),
      authLog: authLog ?? "off",
      authLogWindowSeconds: authLogWindowSeconds ?? DEFAULT_AUTH_LOG_WINDOW_SECONDS,
      checksRefreshSeconds: checksRefreshSeconds ?? REFRESH_SECONDS,
      fail2banSocket,
      containers: containers ?? "auto",
      releaseKey,
    }),
  });
}

function readConfigFile(readFile: ConfigInputs["readFile"], path: string, explicit: boolean): FileSettings | undefined {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return undefined;
    throw new ConfigError(`config file ${path} (--config): ${code === "ENOENT" ? "not found" : (error as Error).message}`);
  }
  const value = parseYamlConfig(text, path);
  if (value === null) return {};
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.join(".");
    const what =
      issue.code === "unrecognized_keys" ? `unknown setting ${[at, ...issue.keys].filter(Boolean).join(".")}`
      : issue.code === "invalid_type" ? `${at || "top level"}: expected ${issue.expected === "object" ? "a mapping" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}`
      : issue.code === "invalid_value" ? `${at}: expected one of ${issue.values.join(", ")}`
      : `${at || "top level"}: expected a string or a number`;
    throw new ConfigError(`config file ${path}: ${what}`);
  }
  return parsed.data;
}

/** The config as --print-config shows it: secrets masked, absent settings left out. */
export function printableConfig(config: AgentConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || key === "printConfig" || key === "once" || key === "json") continue;
    shown[key] = (SECRET_SETTINGS as readonly string[]).includes(key) ? "********" : value;
  }
  return shown;
}
