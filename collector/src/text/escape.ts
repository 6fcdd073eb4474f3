// Text leaves NetMap for other programs: ssh reads ssh_config, Graphviz reads DOT, a terminal
// reads the CLI's output, YAML parsers read the topology file. Names and figures in that text
// come from agents, Proxmox and SNMP devices, so each sink has one function here that makes
// any string mean only itself there. They live together because they share one idea of what a
// control character is, and one file is what a reviewer audits; each writer imports its own.
//
// Not here, because the library already escapes for its sink: the label values of the
// collector's own /metrics (prom-client writes \\, \" and \n; tested in
// test/unit/collector/escape.test.ts) and HTTP headers (Node refuses CR, LF and NUL in a header
// value; no header is built from data). /metrics/hosts is written by hand, hence promLabelValue.

/** C0, DEL and C1: what a terminal acts on, what ends a line for ssh, what YAML calls unprintable. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** The same, less the line feed and tab a whole output legitimately holds. */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

// \uXXXX is what JSON and YAML double-quoted strings mean by it too, so output that is JSON or
// YAML keeps its meaning when a terminal sink rewrites it.
const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

// ---- terminal ----------------------------------------------------------

/**
 * One value for a terminal (a table cell, a name in a message): every control character,
 * line breaks included, as a visible `\u001b`-style escape that the terminal does not act on.
 */
export function terminalSafe(value: string): string {
  return value.replace(CONTROL, unicodeEscape);
}

/**
 * A whole output for a terminal, the last guard before stdout and stderr: as terminalSafe,
 * but its own line breaks and tabs stay. JSON and YAML pass through with the same meaning.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROL_IN_TEXT, unicodeEscape);
}

// ---- ssh_config ----------------------------------------------------------

/**
 * A comment line of ssh_config showing `text`. ssh ends a line only at \n, but every control
 * character is escaped so a comment is one line for every reader (and a paste).
 */
export function sshComment(text: string): string {
  return `# ${text.replace(CONTROL, unicodeEscape)}`;
}

// ---- DOT (Graphviz) ------------------------------------------------------

// Control characters would otherwise break a label across lines or vanish; C0 and DEL show as
// the Unicode "control pictures" (U+2400…) so a hostile name stays one visible line, the rest
// as their escape.
function visible(text: string): string {
  return text.toWellFormed().replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    return code === 0x7f ? "\u2421" : unicodeEscape(c);
  });
}

/**
 * A DOT double-quoted string showing `text` literally. Backslash starts Graphviz's escapes
 * (\n, \N, \G…) and `&` starts an HTML entity in labels, so both are escaped too.
 */
export function dotString(text: string): string {
  return `"${visible(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/&/g, "&amp;")}"`;
}

// ---- YAML ----------------------------------------------------------------

/**
 * The `yaml` library's output with DEL and C1 escaped. It double-quotes every string holding
 * a control character but writes these two kinds raw between the quotes; YAML counts them as
 * unprintable and a terminal acts on C1. Only a double-quoted scalar can hold them, where
 * `\xXX` means the same character.
 */
export function yamlText(yaml: string): string {
  return yaml.replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

// ---- Prometheus text format ----------------------------------------------

/**
 * A label value of the Prometheus text exposition format, quotes included. The format has
 * three escapes, \\, \" and \n; every other character (any other control character
 * too) stands for itself inside the quotes, so these three are all a value needs.
 */
export function promLabelValue(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

// ---- POSIX shell (the remote end of ssh) -----------------------------------

/**
 * One word for the shell ssh's remote command line goes to: ssh joins its command arguments
 * with spaces and the remote user's shell parses the line, so a value from NetMap (a container
 * name, an engine socket) is single-quoted, each ' written as '\''. The value is one literal
 * word there, whatever it holds.
 */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9._\/:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

// ---- chat (Slack-style mrkdwn webhooks) ----------------------------------

/**
 * Text for a chat message (Slack's and Mattermost's incoming webhooks): &, < and > as the
 * entities Slack asks for, so a name like <!channel> or <https://x|y> is shown, never a
 * mention or a link; mrkdwn's *, _, ~ and ` with a zero-width space after them, so they
 * format nothing; control characters as their \u escape.
 */
export function chatText(value: string): string {
  return value
    .replace(CONTROL, unicodeEscape)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[*_~`]/g, "$&\u200b");
}

// ---- CSV (and the spreadsheets that open it) -----------------------------

/**
 * One CSV field (RFC 4180): always quoted, quotes doubled, so commas and line breaks stay in
 * the field; a value a spreadsheet would take for a formula (=, +, -, @, tab, CR first)
 * prefixed with ' (OWASP's advice on CSV injection), so opening the file runs nothing.
 */
export function csvField(value: string): string {
  const inert = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${inert.replace(/"/g, '""')}"`;
}
