// What the rollout runs on one target, over its one SSH connection: the probe (a single round
// trip), and the script that puts a file in place (temporary name beside it, mode, sha256
// check, rename), fed by stdin or by a fetch from a staged copy on the hop.
import type { Readable } from "node:stream";
import { AgentInstallError } from "../errors.ts";
import type { Hop } from "../topology/model.ts";
import type { SshConnection } from "../topology/ssh.ts";
import { UNPACKER, type Encoding } from "./artefacts.ts";
import { shellQuote } from "./shell.ts";

export interface Probe {
  architecture: string;
  root: boolean;
  systemd: boolean;
  hasConfig: boolean;
  /** Of the installed binary: from the stored digest when its size still matches, else hashed; "" when absent. */
  installedHash: string;
  /** Its --version, as stored with the digest ("" when hashed). */
  installedVersion: string;
  /** Of the installed unit file ("" when absent). */
  unitHash: string;
  /** The unpackers and fetchers found: xz, gzip, bash. */
  tools: Set<string>;
  /** This connection's ends as the target sees them (SSH_CONNECTION): the previous hop's address and its own. */
  peer?: { hop: string; own: string };
}

/** One round trip: architecture, root or not (and sudo), systemd, config present, the installed binary's hash, tools. */
export async function probeTarget(connection: SshConnection, hops: Hop[], paths: { binary: string; digest: string; config: string; unit: string }): Promise<Probe> {
  const [binary, digest, config, unit] = [paths.binary, paths.digest, paths.config, paths.unit].map(shellQuote);
  const script = [
    "echo arch $(uname -m)",
    "echo uid $(id -u)",
    "if [ -d /run/systemd/system ]; then echo systemd yes; fi",
    `if [ -e ${config} ]; then echo config yes; fi`,
    // A stored digest stands for the binary while the binary is no newer and has the size written with it.
    `if [ -r ${binary} ]; then`,
    `  size=$(stat -c %s ${binary})`,
    `  if [ -r ${digest} ] && [ ! ${binary} -nt ${digest} ] && [ "$(head -1 ${digest} | cut -d' ' -f2)" = "$size" ]; then`,
    `    echo hash $(head -1 ${digest} | cut -d' ' -f1); echo version "$(head -1 ${digest} | cut -d' ' -f3-)"`,
    `  else echo hash $(sha256sum < ${binary} | cut -d' ' -f1); fi`,
    "fi",
    `if [ -r ${unit} ]; then echo unit $(sha256sum < ${unit} | cut -d' ' -f1); fi`,
    "for tool in xz gzip bash; do if command -v $tool >/dev/null 2>&1; then echo tool $tool; fi; done",
    'echo via $SSH_CONNECTION',
    'if [ "$(id -u)" != 0 ]; then if sudo -n true 2>/dev/null; then echo sudo yes; else echo sudo "$(sudo -n true 2>&1 | head -1)"; fi; fi',
  ].join("\n");
  const result = await connection.run(["sh", "-c", shellQuote(script)], { stdin: "ignore", stdout: "pipe", stderr: "capture" });
  if (result.exitCode !== 0) throw new AgentInstallError(`probe: exit ${result.exitCode}: ${result.stderr.trim()}`);
  const fields = new Map<string, string[]>();
  for (const line of result.stdout.split("\n")) {
    const [key = "", ...rest] = line.trim().split(" ");
    if (key) fields.set(key, [...(fields.get(key) ?? []), rest.join(" ")]);
  }
  const one = (key: string) => fields.get(key)?.[0] ?? "";
  const root = one("uid") === "0";
  if (!root && one("sudo") !== "yes") {
    throw new AgentInstallError(`user ${hops.at(-1)!.user ?? "(ssh default)"} is not root and sudo needs a password (sudo -n: ${one("sudo") || "not available"}); allow it NOPASSWD or route as root`);
  }
  const [hop, , own] = one("via").split(" ");
  return {
    architecture: one("arch"),
    root,
    systemd: one("systemd") === "yes",
    hasConfig: one("config") === "yes",
    installedHash: one("hash"),
    installedVersion: one("version"),
    unitHash: one("unit"),
    tools: new Set(fields.get("tool") ?? []),
    peer: hop && own ? { hop, own } : undefined,
  };
}

/** Where a file's bytes come from: the session's stdin, or a staged copy fetched from the hop over TCP. */
export type Source = { from: "stdin"; encoding: Encoding } | { from: "hop"; address: string; port: number; name: string; encoding: Encoding };

/**
 * Unpacks the source into a temporary name beside `path`, sets its mode, checks its sha256 if given,
 * then renames it over `path`, so nothing ever sees half a file. The temporary file goes however the
 * script ends: an error, a failed check, or the session cut off (Ctrl-C on the laptop).
 */
export function putFileScript(path: string, mode: string, source: Source, sha256?: string, digestPath?: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const fetch =
    source.from === "hop"
      ? `bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "%s\\n" "$3" >&3 && cat <&3' netmap-fetch ${shellQuote(source.address)} ${source.port} ${shellQuote(source.name)}`
      : "cat";
  const unpacker = UNPACKER[source.encoding];
  return [
    "set -e",
    `d=${shellQuote(dir)}`,
    `t="$d/.${path.slice(dir.length + 1)}.netmap-$$.tmp"`,
    'mkdir -p "$d"',
    `trap 'rm -f "$t"' EXIT`,
    "trap 'exit 1' HUP INT TERM PIPE",
    `(umask 077 && ${fetch}${unpacker ? ` | ${unpacker} -dc` : ""} > "$t")`,
    `chmod ${mode} "$t"`,
    ...(sha256
      ? [`h=$(sha256sum < "$t" | cut -d' ' -f1)`, `if [ "$h" != ${sha256} ]; then echo "sha256 on the target is $h, expected ${sha256}" >&2; exit 3; fi`]
      : []),
    // A binary that does not run here never replaces one that does; its version goes with its digest.
    ...(digestPath ? [`v=$("$t" --version | head -1)`, 'if [ -z "$v" ]; then echo "the new binary does not run here" >&2; exit 4; fi'] : []),
    `mv -f "$t" ${shellQuote(path)}`,
    ...(sha256 && digestPath
      ? [`printf '%s %s %s\\n' ${sha256} "$(stat -c %s ${shellQuote(path)})" "$v" > "$t"`, `chmod 0644 "$t"`, `mv -f "$t" ${shellQuote(digestPath)}`, 'echo "version $v"']
      : []),
    "trap - EXIT",
  ].join("\n");
}

/** Runs a script on the target (under sudo -n unless root); its stdout, or an AgentInstallError saying what failed. */
export async function runScript(connection: SshConnection, what: string, script: string, sudo: boolean, stdin?: Readable): Promise<string> {
  const command = `${sudo ? "sudo -n " : ""}sh -c ${shellQuote(script)}`;
  const result = await connection.run([command], { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "capture" });
  if (result.exitCode !== 0) {
    const said = result.stderr.replaceAll("\r", "").trim().split("\n").slice(-3).join("; ");
    const why = result.exitCode === 255 ? `ssh failed: ${said || "no message"}` : `exit ${result.exitCode}${said ? `: ${said}` : ""}`;
    throw new AgentInstallError(`${what}: ${why}`);
  }
  return result.stdout;
}
