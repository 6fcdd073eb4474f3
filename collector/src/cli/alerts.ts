// `netmap alerts [--json] [--watch]`, `netmap silence add|ls|expire`, `netmap ack`: the alert
// commands, over the collector's gRPC admin service (cli/admin-client.ts).
import { userInfo } from "node:os";
import type { WatchAlertsResponse } from "../../../proto/gen/netmap/v1/admin.ts";
import { formatMatcher, parseDuration, parseMatcher } from "../alerts/silences.ts";
import { NetMapError, UsageError } from "../errors.ts";
import { alertFromMessage, silenceFromMessage } from "../grpc/messages.ts";
import type { AlertJson } from "../http/api-types.ts";
import { terminalSafe } from "../text/escape.ts";
import { connectAdmin } from "./admin-client.ts";
import { defaultOut, formatTable, parseCommandLine } from "./command-line.ts";

export const ALERT_COMMANDS = ["alerts", "silence", "ack"] as const;

export const ALERT_USAGE = `  alerts [--json]                   open alerts: severity, state, rule, host, summary, since, ack
  alerts --watch [--json]           the open alerts, then each change as it happens, until Ctrl-C
  silence add MATCHER... --duration D --comment TEXT [--author NAME]
                                    mute notifications of alerts matching every MATCHER
                                    (name=value or name=~regex; labels incl. alertname, severity,
                                    host) for D (30m, 2h, 1d); prints the silence id
  silence ls [--json]               pending, active and recently expired silences
  silence expire ID                 end a silence now
  ack FINGERPRINT [--comment TEXT] [--author NAME]
                                    mark an open alert as seen (notifications go on)

  These ask the same collector, with the same token (docs/alerts.md).`;



function me(env: Record<string, string | undefined>): string {
  try {
    return env.USER || userInfo().username;
  } catch {
    return "unknown";
  }
}

function ago(iso: string | null, now: number): string {
  if (!iso) return "-";
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

const hostOf = (a: AlertJson) => a.labels.host ?? a.labels.instance ?? "-";
const summaryOf = (a: AlertJson) => a.annotations.summary ?? a.annotations.description ?? "";

export function formatAlertsTable(alerts: AlertJson[], now = Date.now()): string {
  if (!alerts.length) return "no open alerts\n";
  return formatTable([
    ["SEVERITY", "STATE", "RULE", "HOST", "SINCE", "ACK", "FINGERPRINT", "SUMMARY"],
    ...alerts.map((a) => [a.severity, a.state, a.rule, hostOf(a), ago(a.startsAt ?? a.activeSince, now), a.acknowledged ? a.acknowledged.by : "-", a.fingerprint, summaryOf(a)]),
  ]);
}

function formatChange(change: WatchAlertsResponse): string {
  const a = alertFromMessage(change.alert!);
  const at = (change.at ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  const ack = a.acknowledged ? ` (ack ${a.acknowledged.by})` : "";
  const fields = [at, change.kind.padEnd(7), (change.kind === "closed" ? "closed" : a.state).padEnd(7), a.severity.padEnd(8), a.rule, hostOf(a), a.fingerprint, `${summaryOf(a)}${ack}`];
  return `${fields.map(terminalSafe).join("  ")}\n`;
}

export async function runAlertCommand(command: string, argv: string[], env = process.env, out = defaultOut): Promise<number> {
  const { values, positionals } = parseCommandLine(command, argv, {
    json: { type: "boolean" },
    watch: { type: "boolean" },
    duration: { type: "string" },
    comment: { type: "string" },
    author: { type: "string" },
  });
  const sub = command === "silence" ? positionals.shift() : undefined;
  const usage = (what: string) => new UsageError(`usage: netmap ${command}${sub ? ` ${sub}` : ""} ${what}`.trimEnd());
  const allowed: Record<string, string[]> = {
    alerts: ["json", "watch"],
    "silence add": ["duration", "comment", "author"],
    "silence ls": ["json"],
    "silence expire": [],
    ack: ["comment", "author"],
  };
  const key = sub ? `${command} ${sub}` : command;
  if (command === "silence" && !allowed[key]) throw new UsageError(`usage: netmap silence add|ls|expire …${sub ? ` (unknown subcommand ${JSON.stringify(sub)})` : ""}`);
  for (const option of Object.keys(values)) {
    if (!allowed[key]!.includes(option)) throw new UsageError(`netmap ${key} takes no --${option}`);
  }

  // Usage is checked before connecting, so a mistake says so even with no collector.
  let matchers;
  let durationSeconds = 0;
  if (key === "silence add") {
    if (!positionals.length) throw usage("MATCHER... --duration D --comment TEXT");
    try {
      matchers = positionals.map(parseMatcher);
      if (!values.duration) throw new UsageError("--duration is required (e.g. 2h)");
      durationSeconds = parseDuration(values.duration);
    } catch (error) {
      throw new UsageError(`netmap silence add: ${(error as NetMapError).message}`);
    }
    if (!values.comment?.trim()) throw new UsageError("netmap silence add: --comment is required (why it is silenced)");
  } else if (key === "silence expire" || key === "ack") {
    if (positionals.length !== 1) throw usage(key === "ack" ? "FINGERPRINT [--comment TEXT]" : "ID");
  } else if (positionals.length) {
    throw usage(key === "alerts" ? "[--json] [--watch]" : "[--json]");
  }

  const admin = connectAdmin(env);
  try {
    switch (key) {
      case "alerts": {
        if (values.watch) {
          const abort = new AbortController();
          const stop = () => abort.abort();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          try {
            await admin.watchAlerts((change) => {
              out.stdout(values.json ? `${JSON.stringify({ kind: change.kind, at: change.at?.toISOString(), alert: alertFromMessage(change.alert!) })}\n` : formatChange(change));
            }, abort.signal);
          } finally {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
          }
          return 0;
        }
        const alerts = (await admin.listAlerts({})).alerts.map(alertFromMessage);
        out.stdout(values.json ? `${JSON.stringify({ alerts }, null, 2)}\n` : formatAlertsTable(alerts));
        return 0;
      }
      case "silence add": {
        const { silence } = await admin.addSilence({
          matchers: matchers!, durationSeconds, startsAt: undefined, endsAt: undefined, createdBy: values.author || me(env), comment: values.comment!,
        });
        out.stdout(`${silence!.id}\n`);
        return 0;
      }
      case "silence ls": {
        const silences = (await admin.listSilences({})).silences.map(silenceFromMessage);
        if (values.json) out.stdout(`${JSON.stringify({ silences }, null, 2)}\n`);
        else if (!silences.length) out.stdout("no silences\n");
        else
          out.stdout(
            formatTable([
              ["ID", "STATE", "ENDS", "BY", "MATCHERS", "COMMENT"],
              ...silences.map((s) => [s.id, s.status?.state ?? "-", s.endsAt.replace(/\.\d+Z$/, "Z"), s.createdBy, s.matchers.map(formatMatcher).join(" "), s.comment]),
            ]),
          );
        return 0;
      }
      case "silence expire": {
        const { silence } = await admin.expireSilence({ id: positionals[0]! });
        out.stdout(`expired ${silence!.id}\n`);
        return 0;
      }
      case "ack": {
        const { fingerprint } = await admin.ackAlert({ fingerprint: positionals[0]!, by: values.author || me(env), comment: values.comment ?? "" });
        out.stdout(`acknowledged ${fingerprint}\n`);
        return 0;
      }
    }
    return 2;
  } finally {
    admin.close();
  }
}
