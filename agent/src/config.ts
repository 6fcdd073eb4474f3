// Agent configuration: defaults → /etc/netmap/agent.yaml (or --config F) →
// environment → flags. Each setting is validated where it was given, so the
// message names the flag, variable or file line to fix. Frozen. No network.
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isAgentId } from "../../proto/src/subjects.ts";
import { parseDurationSeconds } from "../../lib/settings.ts";
import { ConfigError } from "./errors.ts";

export interface AgentConfig {
  readonly natsServers: readonly string[];
  readonly intervalSeconds: number;
  /** State (seq) now, the on-disk spool later. */
  readonly spoolDir: string;
  readonly credsFile: string | undefined;
  /** Overrides the id derived from /etc/machine-id. */
  readonly agentId: string | undefined;
  readonly once: boolean;
  readonly json: boolean;
  readonly logLevel: string;
  readonly configFile: string | undefined;
}

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
const MIN_INTERVAL_SECONDS = 0.1;

export const USAGE = `Usage: netmap-agent [--config F] [--nats URL] [--interval D] [--spool-dir DIR] [--creds F] [--agent-id ID]
       netmap-agent --once --json      collect once, print the report as JSON, touch no network

  --config F      config file (default ${DEFAULT_CONFIG_FILE} if present)
  --nats URL      NATS server(s), comma-separated (NETMAP_NATS_URL; default ${DEFAULT_NATS_URL})
  --interval D    collection interval like 10s, 1m, 500ms (NETMAP_AGENT_INTERVAL; default 10s)
  --spool-dir DIR state directory (NETMAP_SPOOL_DIR; default ${DEFAULT_SPOOL_DIR})
  --creds F       NATS credentials (.creds) file
  --agent-id ID   agent id, [a-z0-9_-]{1,64} (NETMAP_AGENT_ID; default derived from /etc/machine-id)
  --log-level L   trace, debug, info, warn, error (NETMAP_LOG_LEVEL; default info)
  --once          collect one report and exit
  --json          print reports as JSON on stdout instead of publishing (with --once)
  --help, --version`;

const FLAG_OPTIONS = {
  config: { type: "string" },
  nats: { type: "string" },
  interval: { type: "string" },
  "spool-dir": { type: "string" },
  creds: { type: "string" },
  "agent-id": { type: "string" },
  "log-level": { type: "string" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

const fileSchema = z
  .object({
    nats: z.object({ url: z.string(), creds: z.string() }).partial().strict(),
    interval: z.union([z.string(), z.number()]),
    spool_dir: z.string(),
    agent_id: z.string(),
    log: z.object({ level: z.string() }).partial().strict(),
  })
  .partial()
  .strict();

type FileSettings = z.infer<typeof fileSchema>;

const NATS_PROTOCOLS = ["nats:", "tls:", "ws:", "wss:"];

// Each setting: a schema turning the raw value into the config value, and what it expects.
const settings = {
  nats: {
    expected: "expected nats://HOST:PORT (or tls://, ws://, wss://), comma-separated for several",
    schema: z.string().transform((value, ctx) => {
      const servers = value.split(",").map((s) => s.trim()).filter(Boolean);
      const valid = servers.length > 0 && servers.every((server) => {
        try {
          return NATS_PROTOCOLS.includes(new URL(server).protocol);
        } catch {
          return false;
        }
      });
      if (!valid) { ctx.addIssue({ code: "custom", message: "bad url" }); return z.NEVER; }
      return servers;
    }),
  },
  interval: {
    expected: "expected a duration like 10s",
    schema: z.union([z.string(), z.number()]).transform((value, ctx) => {
      const seconds = parseDurationSeconds(value);
      if (seconds === undefined || seconds < MIN_INTERVAL_SECONDS) { ctx.addIssue({ code: "custom", message: "bad duration" }); return z.NEVER; }
      return seconds;
    }),
  },
  "spool-dir": { expected: "expected a directory path", schema: z.string().min(1).transform((value) => resolve(value)) },
  creds: { expected: "expected a path to a NATS .creds file", schema: z.string().min(1) },
  "agent-id": { expected: "expected 1-64 characters of [a-z0-9_-]", schema: z.string().refine(isAgentId) },
  "log-level": { expected: "expected one of trace, debug, info, warn, error, fatal", schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]) },
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
      const shown = typeof given.value === "string" ? JSON.stringify(given.value) : String(JSON.stringify(given.value));
      throw new ConfigError(`invalid ${name.replace("-", " ")} ${shown} (${given.origin}): ${settings[name].expected}`);
    }
    return parsed.data;
  };
  const flag = (name: SettingName): Given => ({ value: flags[name], origin: `--${name}` });
  const fromEnv = (variable: string): Given => ({ value: env[variable] === "" ? undefined : env[variable], origin: variable });
  const fromFile = (key: string, value: unknown): Given => ({ value, origin: inFile(key) });

  const natsServers = pick("nats", [flag("nats"), fromEnv("NETMAP_NATS_URL"), fromFile("nats.url", file?.nats?.url)]) as string[] | undefined;
  const intervalSeconds = pick("interval", [flag("interval"), fromEnv("NETMAP_AGENT_INTERVAL"), fromFile("interval", file?.interval)]) as number | undefined;
  const spoolDir = pick("spool-dir", [flag("spool-dir"), fromEnv("NETMAP_SPOOL_DIR"), fromFile("spool_dir", file?.spool_dir)]) as string | undefined;
  const credsFile = pick("creds", [flag("creds"), fromEnv("NETMAP_NATS_CREDS"), fromFile("nats.creds", file?.nats?.creds)]) as string | undefined;
  const agentId = pick("agent-id", [flag("agent-id"), fromEnv("NETMAP_AGENT_ID"), fromFile("agent_id", file?.agent_id)]) as string | undefined;
  const logLevel = pick("log-level", [flag("log-level"), fromEnv("NETMAP_LOG_LEVEL"), fromFile("log.level", file?.log?.level)]) as string | undefined;

  if (flags.json && !flags.once) throw new ConfigError("--json needs --once: the loop publishes to NATS");

  return Object.freeze({
    command: "run",
    config: Object.freeze({
      natsServers: Object.freeze(natsServers ?? [DEFAULT_NATS_URL]),
      intervalSeconds: intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
      spoolDir: spoolDir ?? DEFAULT_SPOOL_DIR,
      credsFile: credsFile === undefined || isAbsolute(credsFile) ? credsFile : resolve(credsFile),
      agentId,
      once: flags.once ?? false,
      json: flags.json ?? false,
      logLevel: logLevel ?? "info",
      configFile: fileName,
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
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}: not valid YAML: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.join(".");
    const what = issue.code === "unrecognized_keys" ? `unknown setting ${[at, ...issue.keys].filter(Boolean).join(".")}` : `${at || "top level"}: ${issue.message}`;
    throw new ConfigError(`config file ${path}: ${what}`);
  }
  return parsed.data;
}
