// A staged copy of the agent on the last hop before several targets, so its bytes cross the
// slow link to a site once rather than once per host (docs/rollout.md, "Staging on the hop").
// The copy sits in a private directory (mktemp -d, 0700) of the hop's user, is checked by its
// sha256 there, and is served over TCP to the targets' addresses only, for as long as the
// session that serves it lasts; it is removed when that session ends (normally, or because the
// rollout was interrupted). The hop is trusted with nothing new: each target checks the sha256
// of what it unpacked against the digest the rollout sent it, and refuses anything else.
import type { Readable } from "node:stream";
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { AgentInstallError } from "../errors.ts";
import type { SshConnection } from "../topology/ssh.ts";
import type { Artefact } from "./artefacts.ts";
import { shellQuote } from "./shell.ts";

export interface StagedCopies {
  /** The port the hop serves on; each target reaches the hop at the address its SSH_CONNECTION names. */
  port: number;
  /** Removes the copies (ends the serving session). */
  close(): Promise<void>;
}

// Serves each request ("NAME\n") with the file of that name in the directory, to the allowed
// peers only, one forked child per connection, until stdin closes. Perl, because it is on every
// Debian and Ubuntu (perl-base is Essential) and most other bastions, and a shell cannot listen.
const SERVER = [
  "use strict; use IO::Socket::INET; use IO::Select;",
  "my ($dir, @peers) = @ARGV; my %allowed = map { $_ => 1 } @peers;",
  "$SIG{CHLD} = 'IGNORE'; $| = 1;",
  "my $listener = IO::Socket::INET->new(Listen => 64, LocalAddr => '0.0.0.0', LocalPort => 0, Proto => 'tcp', ReuseAddr => 1) or die \"listen: $!\\n\";",
  'print "port ", $listener->sockport, "\\n";',
  "my $select = IO::Select->new($listener, \\*STDIN);",
  "while (1) { for my $ready ($select->can_read) {",
  "  if (fileno($ready) == fileno(STDIN)) { my $byte; exit 0 unless sysread(STDIN, $byte, 1); next; }",
  "  my $client = $listener->accept or next;",
  "  if (!$allowed{$client->peerhost}) { close $client; next; }",
  "  my $pid = fork(); if (!defined $pid || $pid) { close $client; next; }",
  "  my $name = <$client>; exit 1 unless defined $name; chomp $name;",
  "  exit 1 unless $name =~ /^[A-Za-z0-9._-]+$/ && open(my $file, '<', \"$dir/$name\"); binmode $file;",
  "  my $buffer; while (my $n = sysread($file, $buffer, 65536)) { my $off = 0; while ($off < $n) { my $w = syswrite($client, $buffer, $n - $off, $off); exit 1 unless $w; $off += $w; } }",
  "  exit 0;",
  "} }",
].join("\n");

/**
 * Uploads the artefacts into a private directory on the connection's host, checks each by its
 * sha256 there, and serves them to `peers` (the targets' addresses as the hop sees them).
 */
export async function stageCopies(connection: SshConnection, artefacts: Artefact[], peers: string[], onBytes: (bytes: number) => void): Promise<StagedCopies> {
  const made = await connection.run(["sh", "-c", shellQuote('umask 077 && mktemp -d "${TMPDIR:-/tmp}/netmap-stage.XXXXXXXX"')], { stdin: "ignore", stdout: "pipe", stderr: "capture" });
  const dir = made.stdout.trim();
  if (made.exitCode !== 0 || !dir.startsWith("/")) throw new AgentInstallError(`staging: mktemp -d failed: ${made.stderr.trim() || `exit ${made.exitCode}`}`);
  const remove = () => connection.run(["rm", "-rf", shellQuote(dir)], { stdin: "ignore", stdout: "pipe", stderr: "capture" });
  try {
    for (const artefact of artefacts) {
      const file = shellQuote(`${dir}/${artefact.name}`);
      const script = [
        "set -e",
        `cat > ${file}`,
        `h=$(sha256sum < ${file} | cut -d' ' -f1)`,
        `if [ "$h" != ${artefact.sha256} ]; then echo "sha256 of the staged copy is $h, expected ${artefact.sha256}" >&2; exit 3; fi`,
      ].join("\n");
      const sent = await connection.run(["sh", "-c", shellQuote(script)], { stdin: counted(createReadStream(artefact.path), onBytes), stdout: "pipe", stderr: "capture" });
      if (sent.exitCode !== 0) throw new AgentInstallError(`staging ${artefact.name}: ${sent.stderr.trim() || `exit ${sent.exitCode}`}`);
    }
    return await serve(connection, dir, peers);
  } catch (error) {
    await remove();
    throw error;
  }
}

async function serve(connection: SshConnection, dir: string, peers: string[]): Promise<StagedCopies> {
  const script = [
    `d=${shellQuote(dir)}`,
    `trap 'rm -rf "$d"' EXIT`,
    "trap 'exit 1' HUP INT TERM PIPE",
    "command -v perl >/dev/null 2>&1 || { echo 'perl is not installed here' >&2; exit 4; }",
    `perl -e ${shellQuote(SERVER)} "$d" ${peers.map(shellQuote).join(" ")}`,
  ].join("\n");
  const server = connection.spawn(["sh", "-c", shellQuote(script)]);
  let stderr = "";
  server.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = /^port (\d+)\n/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    server.once("error", reject);
    void closed.then(() => reject(new AgentInstallError(`staging: the hop does not serve the copy: ${stderr.trim() || "its session ended"}`)));
  });
  return {
    port,
    close: async () => {
      server.stdin!.end();
      await closed;
      // The session removed the directory as it ended, unless it was cut off; then this does.
      await connection.run(["rm", "-rf", shellQuote(dir)], { stdin: "ignore", stdout: "pipe", stderr: "capture" }).catch(() => undefined);
    },
  };
}

/** The stream as is, telling onBytes how much went through. */
export function counted(stream: Readable, onBytes: (bytes: number) => void): Readable {
  return stream.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        onBytes(chunk.length);
        done(null, chunk);
      },
    }),
  );
}
