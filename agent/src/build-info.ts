// What --version says about the build. The single binary has the commit
// written in at build time (esbuild's define); run from source, git is asked.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

declare const NETMAP_BUILD_COMMIT: string | undefined;

export function buildCommit(): string {
  if (typeof NETMAP_BUILD_COMMIT === "string") return NETMAP_BUILD_COMMIT;
  try {
    const dir = dirname(fileURLToPath(import.meta.url));
    // Loaded here, not at the top: the binary never needs child_process, which costs ~2 MiB resident.
    const { execFileSync } = process.getBuiltinModule("node:child_process");
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || "unknown";
  } catch {
    return "unknown";
  }
}
