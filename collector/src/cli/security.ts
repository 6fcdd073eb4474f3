// `netmap token create|list|revoke` and `netmap audit`: named API tokens and the audit trail,
// over the collector's gRPC admin service (cli/admin-client.ts). Both need an admin token.
import { parseDuration } from "../alerts/silences.ts";
import { UsageError } from "../errors.ts";
import { connectAdmin } from "./admin-client.ts";
import { defaultOut, formatTable, parseCommandLine } from "./command-line.ts";

export const SECURITY_COMMANDS = ["token", "audit"] as const;

export const SECURITY_USAGE = `  token create NAME --role viewer|operator|admin
                                    a new API token (HTTP and gRPC), printed once: the
                                    collector keeps only its hash
  token list [--json]               the named tokens: role, who made them, last use
  token revoke NAME                 the token stops working at once
  audit [--since D|TIME] [--json]   who did what, when, from where (D: 30m, 2h, 7d)`;

const time = (value: Date | undefined) => value?.toISOString().replace(/\.\d+Z$/, "Z") ?? "-";

export async function runSecurityCommand(command: string, argv: string[], env = process.env, out = defaultOut): Promise<number> {
  if (command === "audit") return audit(argv, env, out);
  const [subcommand, ...args] = argv;
  switch (subcommand) {
    case "create": {
      const { values, positionals } = parseCommandLine("token create", args, { role: { type: "string" } });
      if (positionals.length !== 1 || !values.role) throw new UsageError("usage: netmap token create NAME --role viewer|operator|admin");
      const admin = connectAdmin(env);
      try {
        const { token, secret } = await admin.createToken({ name: positionals[0]!, role: values.role });
        out.stderr(`created token ${token!.name} (${token!.role}); it is shown this once, the collector keeps only its hash:\n`);
        out.stdout(`${secret}\n`);
      } finally {
        admin.close();
      }
      return 0;
    }
    case "list": {
      const { values, positionals } = parseCommandLine("token list", args, { json: { type: "boolean" } });
      if (positionals.length) throw new UsageError("usage: netmap token list [--json]");
      const admin = connectAdmin(env);
      try {
        const { tokens } = await admin.listTokens({});
        if (values.json) out.stdout(`${JSON.stringify(tokens, null, 2)}\n`);
        else if (!tokens.length) out.stdout("no named tokens\n");
        else out.stdout(formatTable([["NAME", "ROLE", "CREATED BY", "CREATED", "LAST USED"], ...tokens.map((t) => [t.name, t.role, t.createdBy, time(t.createdAt), time(t.lastUsedAt)])]));
      } finally {
        admin.close();
      }
      return 0;
    }
    case "revoke": {
      const { positionals } = parseCommandLine("token revoke", args, {});
      if (positionals.length !== 1) throw new UsageError("usage: netmap token revoke NAME");
      const admin = connectAdmin(env);
      try {
        const { token } = await admin.revokeToken({ name: positionals[0]! });
        out.stdout(`revoked token ${token!.name} (${token!.role})\n`);
      } finally {
        admin.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`usage: netmap token create|list|revoke …${subcommand ? ` (no subcommand ${JSON.stringify(subcommand)})` : ""}`);
  }
}

/** --since: a duration back from now (2h, 7d) or an ISO 8601 time. */
export function parseSince(value: string, now = Date.now()): Date {
  if (/^(\d+[smhdw])+$/.test(value)) return new Date(now - parseDuration(value) * 1000);
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new UsageError(`--since: expected a duration (30m, 2h, 7d) or an ISO 8601 time, got ${JSON.stringify(value)}`);
  return at;
}

async function audit(args: string[], env: Record<string, string | undefined>, out: typeof defaultOut): Promise<number> {
  const { values, positionals } = parseCommandLine("audit", args, { since: { type: "string" }, json: { type: "boolean" } });
  if (positionals.length) throw new UsageError("usage: netmap audit [--since D|TIME] [--json]");
  const since = values.since === undefined ? undefined : parseSince(values.since);
  const admin = connectAdmin(env);
  try {
    const { events } = await admin.listAudit({ since, limit: 0 });
    if (values.json) out.stdout(`${JSON.stringify(events, null, 2)}\n`);
    else if (!events.length) out.stdout("no audit entries\n");
    else out.stdout(formatTable([["TIME", "ACTOR", "ROLE", "ACTION", "TARGET", "FROM", "VIA", "OUTCOME"], ...events.map((e) => [time(e.at), e.actor, e.role, e.action, e.target, e.source, e.transport, e.outcome])]));
  } finally {
    admin.close();
  }
  return 0;
}
