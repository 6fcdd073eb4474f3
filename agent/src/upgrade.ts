// Upgrades over NATS (docs/upgrades.md): the agent listens on netmap.v1.upgrade.command.<agent>
// on the connection it already has, and for an upgrade
//   1. checks the release manifest's ed25519 signature with its release key (agent.yaml release_key),
//   2. reads the binary from the NETMAP_RELEASES object store by JetStream direct get (its NATS
//      user may read there and write nothing), into <state>/bin/netmap-agent.new, checking size
//      and sha256,
//   3. tries it: `netmap-agent.new --version` must name the release's version, and on a
//      canary (the command's trial) `netmap-agent.new --once` must collect and publish one
//      report and exit 0,
//   4. keeps the running binary as bin/netmap-agent.previous and renames the new one over
//      bin/netmap-agent (atomic), each beside a .version file,
//   5. stops as on SIGTERM (spool kept, connection drained) and re-executes itself (execve: same
//      pid, so systemd sees no exit); the new binary's reports carry the new agent_version.
// The binaries live in the agent's state directory (spool_dir), the one place the shipped unit
// lets it write; the installed binary (/usr/local/bin, read-only to the agent) executes the
// upgraded one at start when that is newer (upgradedBinary), so a restart or a reboot keeps the
// upgrade and `netmap agent install` of a newer version still wins.
// A rollback puts bin/netmap-agent.previous back the same way, only while the version rolled back from runs.
// Each step's outcome goes to netmap.v1.upgrade.status.<agent>. node:crypto and node:child_process
// are loaded here on first use: an agent that is never upgraded never pays for them.
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  compareVersions,
  decodeUpgradeCommand,
  isVersion,
  encodeUpgradeMessage,
  releaseManifest,
  releasePublicKeyDer,
  type Release,
  type UpgradeCommand,
  type UpgradeState,
} from "../../proto/src/release.ts";
import { RELEASES_DIRECT_GET, releaseChunkSubject, releaseMetaSubject, upgradeCommandSubject, upgradeStatusSubject } from "../../proto/src/subjects.ts";
import { NetMapError } from "./errors.ts";

const GET_TIMEOUT_MS = 30_000;
const GET_ATTEMPTS = 4;
/** Chunks asked for at once while fetching a release (512 KiB each). */
const FETCH_WINDOW = 4;
const TRIAL_TIMEOUT_MS = 120_000;

/** An upgrade or rollback this agent refuses or cannot finish; the message says why. */
export class UpgradeError extends NetMapError {
  constructor(message: string) {
    super("UPGRADE_FAILED", message);
  }
}

export interface UpgraderOptions {
  agentId: string;
  /** The running version. */
  version: string;
  /** The release public key (base64 SPKI, config release_key). */
  releaseKey: string;
  /** The file this agent runs from: the installed binary, or the upgraded one in <spool_dir>/bin. */
  binaryPath: string;
  /** The arguments it was started with, given again to the trial run and after the swap. */
  args: readonly string[];
  spoolDir: string;
  log: Logger;
  /** Stops the agent as on SIGTERM, then executes `binary`: called once the new binary is in place. */
  restart: (binary: string) => void;
}

export interface Upgrader {
  stop(): void;
}

/** Where upgrades keep binaries: <spool_dir>/bin/netmap-agent (.version, .previous, .previous.version beside). */
export function upgradedBinaryPath(spoolDir: string): string {
  return join(spoolDir, "bin", "netmap-agent");
}

/** At start, run from the installed binary: the upgraded one to execute instead, when it is newer than this one. */
export function upgradedBinary(spoolDir: string, running: string, version: string): string | undefined {
  const target = upgradedBinaryPath(spoolDir);
  if (running === target || !existsSync(target)) return undefined;
  let upgraded: string;
  try {
    upgraded = readFileSync(`${target}.version`, "utf8").trim();
  } catch {
    return undefined;
  }
  return isVersion(upgraded) && compareVersions(upgraded, version) > 0 ? target : undefined;
}

/** The file an agent runs from: the single binary itself, or what a wrapper names in NETMAP_AGENT_BINARY. */
export function agentBinaryPath(env: NodeJS.ProcessEnv): string | undefined {
  const { isSea } = process.getBuiltinModule("node:sea");
  return isSea() ? process.execPath : env.NETMAP_AGENT_BINARY || undefined;
}

export function startUpgrader(nc: NatsConnection, options: UpgraderOptions): Upgrader {
  const { agentId, log } = options;
  let busy = false;
  // Versions rolled back while their upgrade was still under way: it stops before the swap.
  const cancelled = new Set<string>();
  const sub: Subscription = nc.subscribe(upgradeCommandSubject(agentId), {
    callback: (error, msg) => {
      if (error) return log.warn({ err: error }, "upgrade commands: subscription failed");
      if (busy) {
        const command = safeDecode(msg.data);
        if (command?.action === "rollback") cancelled.add(command.from);
        return log.warn({ action: command?.action }, "upgrade command while another is under way; a rollback cancels it, anything else is ignored");
      }
      busy = true;
      void handle(nc, msg, options, cancelled).finally(() => {
        busy = false;
        cancelled.clear();
      });
    },
  });
  log.info({ binary: options.binaryPath }, "upgrades over NATS on");
  return { stop: () => sub.unsubscribe() };
}

function safeDecode(data: Uint8Array): UpgradeCommand | undefined {
  try {
    return decodeUpgradeCommand(data);
  } catch {
    return undefined;
  }
}

async function handle(nc: NatsConnection, msg: Msg, options: UpgraderOptions, cancelled: ReadonlySet<string>): Promise<void> {
  const { log, agentId } = options;
  let command: UpgradeCommand;
  try {
    command = decodeUpgradeCommand(msg.data);
  } catch (error) {
    return log.warn({ err: (error as Error).message }, "upgrade command refused");
  }
  const version = command.action === "upgrade" ? command.release.version : command.from;
  const status = (state: UpgradeState, reason?: string) => nc.publish(upgradeStatusSubject(agentId), encodeUpgradeMessage({ state, version, ...(reason ? { reason } : {}) }));
  try {
    const restartWith = command.action === "upgrade" ? await upgrade(nc, command, options, status, cancelled) : rollback(command.from, options);
    if (!restartWith) return;
    status(command.action === "upgrade" ? "swapped" : "rolled_back");
    await nc.flush();
    log.info({ action: command.action, version }, "binary swapped; restarting");
    options.restart(restartWith);
  } catch (error) {
    const reason = error instanceof UpgradeError ? error.message : `unexpected: ${(error as Error).message}`;
    log.error({ action: command.action, version, reason }, "upgrade failed");
    status("failed", reason);
  }
}

/** The binary to restart with, or undefined when this version already runs. */
async function upgrade(
  nc: NatsConnection,
  command: Extract<UpgradeCommand, { action: "upgrade" }>,
  options: UpgraderOptions,
  status: (state: UpgradeState) => void,
  cancelled: ReadonlySet<string>,
) {
  const { release } = command;
  const crypto = process.getBuiltinModule("node:crypto");
  const key = crypto.createPublicKey({ key: Buffer.from(releasePublicKeyDer(options.releaseKey)!), format: "der", type: "spki" });
  if (!crypto.verify(null, releaseManifest(release), key, Buffer.from(command.signature, "base64"))) {
    throw new UpgradeError("the release's signature does not verify with this agent's release key; nothing fetched");
  }
  if (release.version === options.version) {
    status("current");
    return undefined;
  }
  status("fetching");
  const target = upgradedBinaryPath(options.spoolDir);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const fresh = `${target}.new`;
  try {
    const started = performance.now();
    await fetchRelease(nc, release, fresh);
    const fetched = performance.now();
    await tryBinary(fresh, release.version, command.trial, options);
    options.log.info({ version: release.version, bytes: release.size, fetchSeconds: (fetched - started) / 1000, trialSeconds: (performance.now() - fetched) / 1000 }, "release fetched, checked and tried");
    if (cancelled.has(release.version)) throw new UpgradeError(`rolled back before the swap; still running ${options.version}`);
    // What runs now becomes the previous binary: linked when it is already ours, else copied from where it was installed.
    const previous = `${target}.previous`;
    const staged = `${previous}.tmp`;
    rmSync(staged, { force: true });
    if (options.binaryPath === target) linkSync(target, staged);
    else copyFileSync(options.binaryPath, staged);
    renameSync(staged, previous);
    writeAtomically(`${previous}.version`, options.version);
    renameSync(fresh, target);
    writeAtomically(`${target}.version`, release.version);
  } finally {
    rmSync(fresh, { force: true });
  }
  return target;
}

function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, `${text}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function rollback(from: string, options: UpgraderOptions): string | undefined {
  if (from !== options.version) {
    options.log.info({ from, running: options.version }, "rollback for a version not running here; nothing to do");
    return undefined;
  }
  const target = upgradedBinaryPath(options.spoolDir);
  const previous = `${target}.previous`;
  if (!existsSync(previous)) throw new UpgradeError(`no previous binary kept (${previous})`);
  renameSync(previous, target);
  renameSync(`${previous}.version`, `${target}.version`);
  return target;
}

/** Writes the release's bytes to `path` (mode 0700), checking them against the signed size and sha256. */
async function fetchRelease(nc: NatsConnection, release: Release, path: string): Promise<void> {
  const meta = await directGet(nc, { last_by_subj: releaseMetaSubject(release.object) }, `release ${release.object}`);
  let nuid: unknown;
  try {
    ({ nuid } = JSON.parse(new TextDecoder().decode(meta.data)) as { nuid?: unknown });
  } catch {
    throw new UpgradeError(`release ${release.object}: its metadata is not JSON`);
  }
  if (typeof nuid !== "string") throw new UpgradeError(`release ${release.object}: its metadata names no chunks`);
  const chunks = releaseChunkSubject(nuid);
  const hash = process.getBuiltinModule("node:crypto").createHash("sha256");
  rmSync(path, { force: true });
  const fd = openSync(path, "wx", 0o700);
  try {
    let written = 0;
    let last = 0;
    const take = (chunk: Msg) => {
      if (chunk.headers?.get("Nats-Subject") !== chunks) throw new UpgradeError(`release ${release.object}: a chunk from another subject`);
      const seq = Number(chunk.headers.get("Nats-Sequence"));
      if (seq <= last) return; // another subject's message sat at the sequence asked for: this chunk came already
      last = seq;
      written += chunk.data.length;
      if (written > release.size) throw new UpgradeError(`release ${release.object}: more than its signed size of ${release.size} bytes`);
      hash.update(chunk.data);
      writeSync(fd, chunk.data);
    };
    // A window of requests for consecutive sequences, each answered with the first chunk at or after
    // it: the chunk at sequence s answers the request for s, so none is skipped, and a link with a
    // long round trip carries FETCH_WINDOW chunks per trip. Answers past the last chunk are dropped.
    take(await directGet(nc, { seq: 1, next_by_subj: chunks }, `release ${release.object}`));
    let ask = last + 1;
    const inFlight: Promise<Msg>[] = [];
    while (written < release.size) {
      while (inFlight.length < FETCH_WINDOW) {
        const reply = directGet(nc, { seq: ask, next_by_subj: chunks }, `release ${release.object} at ${written} bytes`);
        reply.catch(() => {});
        inFlight.push(reply);
        ask++;
      }
      take(await inFlight.shift()!);
    }
    const digest = hash.digest("hex");
    if (digest !== release.sha256) throw new UpgradeError(`release ${release.object}: sha256 ${digest} is not the signed ${release.sha256}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One message of the releases stream, by JetStream direct get; an UpgradeError when there is none. */
async function directGet(nc: NatsConnection, request: Record<string, unknown>, what: string): Promise<Msg> {
  let reply: Msg | undefined;
  // A get changes nothing, so one that timed out (a busy server, a slow link) is asked again.
  for (let attempt = 1; !reply; attempt++) {
    try {
      reply = await nc.request(RELEASES_DIRECT_GET, JSON.stringify(request), { timeout: GET_TIMEOUT_MS });
    } catch (error) {
      const timedOut = /timeout/i.test((error as Error).message);
      if (!timedOut || attempt >= GET_ATTEMPTS) throw new UpgradeError(`${what}: cannot read the NETMAP_RELEASES bucket: ${(error as Error).message}`);
    }
  }
  const code = reply.headers?.code ?? 0;
  if (code >= 300 || !reply.headers?.get("Nats-Sequence")) throw new UpgradeError(`${what}: not in the NETMAP_RELEASES bucket (${code} ${reply.headers?.description ?? ""})`.trim());
  return reply;
}

/** The new binary must say it is the release's version, and on a trial publish one report. */
async function tryBinary(path: string, version: string, trial: boolean, options: UpgraderOptions): Promise<void> {
  const said = await run(path, ["--version"]);
  if (said.code !== 0 || !said.stdout.startsWith(`netmap-agent ${version} `)) {
    throw new UpgradeError(`the new binary's --version ${said.code === 0 ? `says ${JSON.stringify(said.stdout.slice(0, 80))}` : `exited with ${said.code}`}, not netmap-agent ${version}`);
  }
  if (!trial) return;
  // Its own spool, removed after: the trial must not take reports the running agent spooled, nor leave its own.
  const trialSpool = join(options.spoolDir, "upgrade-trial");
  const once = await run(path, [...options.args, "--once", "--spool-dir", trialSpool]);
  rmSync(trialSpool, { recursive: true, force: true });
  if (once.code !== 0) throw new UpgradeError(`the new binary's trial run (--once) exited with ${once.code}: ${once.stderr.trim().split("\n").at(-1)?.slice(0, 300) ?? ""}`);
}

function run(path: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const { execFile } = process.getBuiltinModule("node:child_process");
  return new Promise((resolve) => {
    execFile(path, args, { timeout: TRIAL_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code ?? (error as { signal?: unknown }).signal ?? "error") : 0;
      resolve({ code: typeof code === "number" || typeof code === "string" ? code : "error", stdout, stderr });
    });
  });
}
