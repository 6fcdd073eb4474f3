// Text leaves NetMap for other programs: ssh reads ssh_config, Graphviz reads DOT, a terminal
// reads the CLI's output, YAML parsers read the topology file. Names and figures in that text
// come from agents, Proxmox and SNMP devices, so each sink has one function here that makes
// any string mean only itself there. They live together because they share one idea of what a
// control character is, and one file is what a reviewer audits; each writer imports its own.
//
// Not here, because the library already escapes for its sink: Prometheus label values
// (prom-client writes \\, \" and \n; tested in test/unit/collector/escape.test.ts) and HTTP
// headers (Node refuses CR, LF and NUL in a header value; no header is built from data).

/** C0, DEL and C1: what a terminal acts on, what ends a line for ssh, what YAML calls unprintable. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

// \uXXXX is what JSON and YAML double-quoted strings mean by it too, so output that is JSON or
// YAML keeps its meaning when a terminal sink rewrites it.
const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

// ---- ssh_config ----------------------------------------------------------

/**
 * A comment line of ssh_config showing `text`. ssh ends a line only at \n, but every control
 * character is escaped so a comment is one line for every reader (and a paste).
 */
export function sshComment(text: string): string {
  return `# ${text.replace(CONTROL, unicodeEscape)}`;
}
