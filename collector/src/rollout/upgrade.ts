// `netmap agent upgrade`: agents upgraded over the NATS connection they already have
// (docs/upgrades.md). The binary is published once into the NETMAP_RELEASES object store and
// each agent told on its own command subject, with the release's version, object, sha256 and
// size signed by the collector's release key; the agent fetches, checks, tries, swaps and
// re-executes itself (agent/src/upgrade.ts). Canaries first: when one fails or does not report
// the new version in time, the canaries are told to roll back and no other agent is told anything.
import { createHash } from "node:crypto";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeReport } from "../../../proto/src/codec.ts";
import { decodeUpgradeStatus, encodeUpgradeMessage, type Release } from "../../../proto/src/release.ts";
import {
  agentIdFromReportSubject,
  agentIdFromUpgradeStatusSubject,
  RELEASES_BUCKET,
  REPORT_SUBJECTS,
  REPORTS_STREAM,
  UPGRADE_STATUS_SUBJECTS,
  upgradeCommandSubject,
} from "../../../proto/src/subjects.ts";
import { streamReplicas } from "../nats/streams.ts";
import type { ReleaseKey } from "./release-key.ts";

/** The CPU a binary is built for, as an agent reports it (os.architecture); "any" for a script. */
export type BinaryArchitecture = "x64" | "arm64" | "any";

/** An agent as its latest stored report shows it. */
export interface FleetAgent {
  agentId: string;
  hostname: string;
  version: string;
  architecture: string;
}

export interface SignedRelease {
  architecture: BinaryArchitecture;
  release: Release;
  signature: string;
}

export type UpgradeResult = "upgraded" | "current" | "failed" | "rolled_back" | "not_sent";

export interface UpgradeOutcome {
  agent: FleetAgent;
  result: UpgradeResult;
  reason?: string;
  /** Canary, or the rest. */
  canary: boolean;
}

/** Chunks of the object store: 512 KiB, so a 100 MiB binary is ~200 messages, each well under NATS's 1 MiB max_payload. */
const CHUNK_BYTES = 512 * 1024;

/** The architecture of an ELF binary (e_machine) or "any" for a #! script; undefined for anything else. */
export function binaryArchitecture(bytes: Uint8Array): BinaryArchitecture | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 20 && b.readUInt32BE(0) === 0x7f454c46) {
    const machine = b.readUInt16LE(18);
    return machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : undefined;
  }
  return b.subarray(0, 2).toString() === "#!" ? "any" : undefined;
}

/** Every agent with a report in NETMAP_REPORTS (a week's worth), as its latest report shows it. */
export async function reportingAgents(nc: NatsConnection): Promise<FleetAgent[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(REPORTS_STREAM, { subjects_filter: REPORT_SUBJECTS });
  const agents: FleetAgent[] = [];
  for (const subject of Object.keys(info.state.subjects ?? {}).sort()) {
    try {
      const message = await jsm.streams.getMessage(REPORTS_STREAM, { last_by_subj: subject });
      if (!message) continue;
      const report = decodeReport(message.data);
      if (report.agentId !== agentIdFromReportSubject(subject)) continue;
      agents.push({ agentId: report.agentId, hostname: report.hostname, version: report.agentVersion, architecture: report.os?.architecture ?? "" });
    } catch {
      // A subject whose last message is not a report of its agent: nothing to upgrade there.
    }
  }
  return agents;
}

/** Puts each binary into NETMAP_RELEASES (unless the same bytes are there already) and signs its release. */
export async function publishReleases(nc: NatsConnection, binaries: readonly { architecture: BinaryArchitecture; bytes: Uint8Array }[], version: string, key: ReleaseKey): Promise<SignedRelease[]> {
  const store = await new Objm(nc).create(RELEASES_BUCKET, { storage: StorageType.File, replicas: streamReplicas(nc) });
  const signed: SignedRelease[] = [];
  // Object names take no "+" (semver's build metadata): it becomes "_".
  const prefix = `netmap-agent-${version.replaceAll("+", "_")}`;
  for (const { architecture, bytes } of binaries) {
    const digest = createHash("sha256").update(bytes).digest();
    const object = `${prefix}-${architecture}`;
    const stored = await store.info(object);
    // The store writes the digest in padded URL-safe base64.
    if (!stored || stored.size !== bytes.length || stored.digest !== `SHA-256=${digest.toString("base64url")}=`) {
      await store.putBlob({ name: object, options: { max_chunk_size: CHUNK_BYTES } }, bytes);
    }
    const release: Release = { version, object, sha256: digest.toString("hex"), size: bytes.length };
    signed.push({ architecture, release, signature: key.sign(release) });
  }
  await pruneReleases(store, RELEASES_KEPT, prefix);
  return signed;
}

/** Versions kept in NETMAP_RELEASES: the one just published and the two before it; older ones are deleted. */
export const RELEASES_KEPT = 3;

/**
 * Deletes the objects of every version but `current` and the most recently stored others, `keep`
 * in all (by the newest object of each version), so a year of weekly releases does not keep a
 * year of 100 MiB binaries in JetStream. An agent rolls back to the binary it kept on its own
 * disk, never to the store.
 */
async function pruneReleases(store: Awaited<ReturnType<Objm["create"]>>, keep: number, current: string): Promise<void> {
  const newest = new Map<string, number>();
  const objects = (await store.list()).filter((o) => !o.deleted);
  const versionOf = (name: string) => name.replace(/-(x64|arm64|any)$/, "");
  for (const o of objects) newest.set(versionOf(o.name), Math.max(newest.get(versionOf(o.name)) ?? 0, Date.parse(o.mtime)));
  newest.delete(current);
  const kept = new Set([current, ...[...newest].sort((a, b) => b[1] - a[1]).slice(0, keep - 1).map(([version]) => version)]);
  for (const o of objects) if (!kept.has(versionOf(o.name))) await store.delete(o.name);
}

export interface UpgradeOptions {
  /** How many agents go first; the rest only once all of them run the new version. */
  canaries: number;
  /** How long a wave may take, from the commands to the last agent's report of the new version. */
  deadlineMs: number;
  /** Progress for a person: one line per agent and step. */
  say: (agent: FleetAgent, message: string, failed?: boolean) => void;
}

/** Canaries, then the rest; the canaries rolled back and the rest left alone when a canary fails. */
export async function upgradeAgents(nc: NatsConnection, agents: readonly FleetAgent[], releases: readonly SignedRelease[], options: UpgradeOptions): Promise<UpgradeOutcome[]> {
  const version = releases[0]!.release.version;
  const canaries = agents.slice(0, options.canaries);
  const rest = agents.slice(options.canaries);
  const outcomes: UpgradeOutcome[] = [];
  if (canaries.length) {
    const first = await wave(nc, canaries, releases, true, options);
    outcomes.push(...first.map((o) => ({ ...o, canary: true })));
    if (first.some((o) => o.result === "failed")) {
      for (const o of await rollBack(nc, first, version, options)) Object.assign(outcomes.find((c) => c.agent === o.agent)!, o);
      for (const agent of rest) outcomes.push({ agent, result: "not_sent", reason: "a canary failed", canary: false });
      return outcomes;
    }
  }
  // The canaries ran the new binary here; without canaries, every agent tries it before its swap.
  if (rest.length) outcomes.push(...(await wave(nc, rest, releases, canaries.length === 0, options)).map((o) => ({ ...o, canary: false })));
  return outcomes;
}

type WaveOutcome = Omit<UpgradeOutcome, "canary"> & { swapped: boolean };

/** Tells each agent, then waits for each to say it failed, or to swap and report the new version. */
async function wave(nc: NatsConnection, agents: readonly FleetAgent[], releases: readonly SignedRelease[], trial: boolean, options: UpgradeOptions): Promise<WaveOutcome[]> {
  const version = releases[0]!.release.version;
  const pending = new Map(agents.map((agent) => [agent.agentId, { agent, swapped: false }]));
  const outcomes: WaveOutcome[] = [];
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const finish = (agentId: string, result: UpgradeResult, reason?: string) => {
    const entry = pending.get(agentId);
    if (!entry) return;
    pending.delete(agentId);
    outcomes.push({ agent: entry.agent, result, swapped: entry.swapped, ...(reason ? { reason } : {}) });
    options.say(entry.agent, result === "upgraded" ? `runs ${version}` : result === "current" ? `already runs ${version}` : `failed: ${reason}`, result === "failed");
    if (!pending.size) allDone();
  };
  const subscriptions: Subscription[] = [
    nc.subscribe(UPGRADE_STATUS_SUBJECTS, {
      callback: (_error, msg) => {
        try {
          const agentId = agentIdFromUpgradeStatusSubject(msg.subject);
          const status = decodeUpgradeStatus(msg.data);
          const entry = pending.get(agentId);
          if (!entry || status.version !== version) return;
          if (status.state === "failed") finish(agentId, "failed", status.reason ?? "no reason given");
          else if (status.state === "current") finish(agentId, "current");
          else if (status.state === "swapped") {
            entry.swapped = true;
            options.say(entry.agent, "binary swapped; restarting");
          } else if (status.state === "fetching") options.say(entry.agent, `fetching ${version}`);
        } catch {
          // Not a status of ours: ignored.
        }
      },
    }),
    // The proof: a report of the new version after the swap (the trial run's report comes before it).
    nc.subscribe(REPORT_SUBJECTS, {
      callback: (_error, msg) => {
        try {
          const agentId = agentIdFromReportSubject(msg.subject);
          if (!pending.get(agentId)?.swapped) return;
          if (decodeReport(msg.data).agentVersion === version) finish(agentId, "upgraded");
        } catch {
          // Not a report: ingest deals with it.
        }
      },
    }),
  ];
  await nc.flush();
  for (const agent of agents) {
    const signed = releases.find((r) => r.architecture === agent.architecture) ?? releases.find((r) => r.architecture === "any");
    if (!signed) {
      finish(agent.agentId, "failed", `no binary for its architecture ${JSON.stringify(agent.architecture)}`);
      continue;
    }
    nc.publish(upgradeCommandSubject(agent.agentId), encodeUpgradeMessage({ action: "upgrade", release: signed.release, signature: signed.signature, trial }));
  }
  await nc.flush();
  let timer: NodeJS.Timeout | undefined;
  if (pending.size) await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, options.deadlineMs)))]);
  clearTimeout(timer);
  for (const [agentId, entry] of [...pending]) {
    finish(agentId, "failed", entry.swapped ? `swapped but reported no ${version} within ${options.deadlineMs / 1000}s` : `no answer within ${options.deadlineMs / 1000}s`);
  }
  for (const sub of subscriptions) sub.unsubscribe();
  return outcomes;
}

/** Tells every canary to put its previous binary back; those that had swapped are waited for. */
async function rollBack(nc: NatsConnection, canaries: readonly WaveOutcome[], version: string, options: UpgradeOptions): Promise<Omit<UpgradeOutcome, "canary">[]> {
  const swapped = new Map(canaries.filter((c) => c.swapped).map((c) => [c.agent.agentId, c]));
  const rolledBack = new Set<string>();
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const sub = nc.subscribe(UPGRADE_STATUS_SUBJECTS, {
    callback: (_error, msg) => {
      try {
        const agentId = agentIdFromUpgradeStatusSubject(msg.subject);
        const status = decodeUpgradeStatus(msg.data);
        if (!swapped.has(agentId) || status.version !== version || status.state !== "rolled_back") return;
        rolledBack.add(agentId);
        options.say(swapped.get(agentId)!.agent, "rolled back to its previous binary");
        if (rolledBack.size === swapped.size) allDone();
      } catch {
        // Not a status of ours.
      }
    },
  });
  await nc.flush();
  for (const canary of canaries) {
    options.say(canary.agent, `told to roll back from ${version}`);
    nc.publish(upgradeCommandSubject(canary.agent.agentId), encodeUpgradeMessage({ action: "rollback", from: version }));
  }
  await nc.flush();
  let timer: NodeJS.Timeout | undefined;
  if (swapped.size) await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, options.deadlineMs)))]);
  clearTimeout(timer);
  sub.unsubscribe();
  return [...swapped.values()].map((c) =>
    rolledBack.has(c.agent.agentId)
      ? { agent: c.agent, result: "rolled_back" as const, reason: c.reason }
      : { agent: c.agent, result: "failed" as const, reason: `${c.reason}; no rollback confirmed within ${options.deadlineMs / 1000}s` },
  );
}
