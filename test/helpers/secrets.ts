// Every secret a test collector was given (its token, the passwords in its NATS and database
// URLs, notifier and Proxmox secrets) and every named token it may have minted: none may appear
// in any log line. startTestCollector runs this check when the collector stops, so each suite
// that starts one checks its own logs.
import type { CollectorConfig } from "../../collector/src/config.ts";

/** A named token (auth/api-tokens.ts) or a PEM private key, wherever it came from. */
const SECRET_SHAPES = [/nmt_[A-Za-z0-9_-]{43}/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/];

export function configuredSecrets(config: CollectorConfig): string[] {
  const password = (url: string) => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return "";
    }
  };
  return [
    config.token ?? "",
    ...config.natsServers.map(password),
    password(config.databaseUrl),
    ...config.notifiers.flatMap((n) => ("secret" in n && n.secret ? [n.secret] : [])),
    ...config.proxmox.map((p) => p.tokenSecret.reveal()),
  ].filter((secret) => secret.length >= 4);
}

/** Throws naming the first log line that holds a secret (the secret itself shown only by its length). */
export function assertNoSecretLogged(lines: readonly unknown[], secrets: readonly string[]): void {
  for (const line of lines) {
    const text = typeof line === "string" ? line : JSON.stringify(line);
    const secret = secrets.find((s) => text.includes(s));
    const shape = SECRET_SHAPES.find((re) => re.test(text));
    if (secret !== undefined || shape) {
      const shown = secret !== undefined ? text.replaceAll(secret, `<secret of ${secret.length} characters>`) : text.replace(shape!, "<$&…>");
      throw new Error(`a log line holds a secret: ${shown.slice(0, 500)}`);
    }
  }
}
