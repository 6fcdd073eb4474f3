// The bytes `netmap agent install` sends: a built binary, and its xz and gzip copies,
// each compressed once per build (cached beside dist/ under the binary's sha256, so a
// rebuild makes new ones and every host of a rollout shares the same).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { AgentInstallError } from "../errors.ts";

/** How a copy is packed, best first: what a target can unpack decides (xz, gzip, or as is). */
export const ENCODINGS = ["xz", "gzip", "raw"] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** The program a target needs to unpack an encoding (raw needs none). */
export const UNPACKER: Record<Encoding, string | undefined> = { xz: "xz", gzip: "gzip", raw: undefined };

export interface Artefact {
  path: string;
  encoding: Encoding;
  size: number;
  /** Of the file as sent. */
  sha256: string;
  /** The name a staged copy has on a hop. */
  name: string;
}

export interface AgentBuild {
  arch: string;
  /** The binary as built. */
  binary: Artefact;
  /** The copy of it in an encoding, compressed on first use (a single promise, shared by every host). */
  packed(encoding: Encoding): Promise<Artefact>;
  /** Whether this machine can make the encoding (xz needs the xz program). */
  canPack(encoding: Encoding): boolean;
}

/** Builds are found by file name (netmap-agent-linux-ARCH) in distDir; copies go to distDir/.compressed. */
export class AgentBuilds {
  readonly #builds = new Map<string, Promise<AgentBuild>>();
  readonly #xz: boolean;
  readonly distDir: string;

  constructor(distDir: string, xzProgram = "xz") {
    this.distDir = distDir;
    this.#xz = hasProgram(xzProgram);
  }

  /** The build for an architecture suffix (x64, arm64); rejects when it is missing. */
  get(arch: string): Promise<AgentBuild> {
    let build = this.#builds.get(arch);
    if (!build) this.#builds.set(arch, (build = this.#load(arch)));
    return build;
  }

  async #load(arch: string): Promise<AgentBuild> {
    const name = `netmap-agent-linux-${arch}`;
    const path = join(this.distDir, name);
    if (!existsSync(path)) throw new AgentInstallError(`${path} is missing: run \`npm run build:agent\``);
    const sha256 = await sha256File(path);
    const binary: Artefact = { path, encoding: "raw", size: statSync(path).size, sha256, name: `${name}.${sha256.slice(0, 16)}` };
    const packed = new Map<Encoding, Promise<Artefact>>([["raw", Promise.resolve(binary)]]);
    const canPack = (encoding: Encoding) => encoding !== "xz" || this.#xz;
    return {
      arch,
      binary,
      canPack,
      packed: (encoding) => {
        let artefact = packed.get(encoding);
        if (!artefact) packed.set(encoding, (artefact = this.#pack(binary, encoding)));
        return artefact;
      },
    };
  }

  async #pack(binary: Artefact, encoding: Encoding): Promise<Artefact> {
    const dir = join(this.distDir, ".compressed");
    const name = `${binary.name}.${encoding === "xz" ? "xz" : "gz"}`;
    const path = join(dir, name);
    if (!existsSync(path)) {
      mkdirSync(dir, { recursive: true });
      // Copies of older builds go: only this build's are worth their space.
      for (const old of readdirSync(dir)) if (old.startsWith(binary.name.replace(/\.[0-9a-f]+$/, ".")) && !old.startsWith(binary.name)) rmSync(join(dir, old), { force: true });
      const partial = `${path}.${process.pid}.tmp`;
      try {
        if (encoding === "xz") await runXz(binary.path, partial);
        else await pipeline(createReadStream(binary.path), createGzip({ level: 6 }), createWriteStream(partial));
        renameSync(partial, path);
      } finally {
        rmSync(partial, { force: true });
      }
    }
    return { path, encoding, size: statSync(path).size, sha256: await sha256File(path), name };
  }
}

/** xz with every core (-T0): its output has several blocks, which any xz unpacks. */
function runXz(input: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("xz", ["-T0", "-6", "-c", input], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const written = pipeline(child.stdout!, createWriteStream(output));
    child.once("error", reject);
    child.once("close", (code) =>
      written.then(() => (code === 0 ? resolve() : reject(new AgentInstallError(`xz failed (exit ${code}): ${stderr.trim()}`))), reject),
    );
  });
}

function hasProgram(program: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, program)));
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}
