// Bundles the console (web/src/main.ts, uPlot and its CSS) with esbuild into web/dist, beside
// copies of web/index.html and web/style.css: the directory the collector serves. Never
// committed (.gitignore); `npm start`, `npm test` and `npm run build:web` make it.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
export const WEB_DIST = join(root, "web", "dist");

export async function buildWeb(): Promise<void> {
  rmSync(WEB_DIST, { recursive: true, force: true });
  mkdirSync(WEB_DIST, { recursive: true });
  await build({
    entryPoints: { app: join(root, "web", "src", "main.ts") },
    outdir: WEB_DIST,
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"]) copyFileSync(join(root, "web", file), join(WEB_DIST, file));
}

if (import.meta.main) await buildWeb();
