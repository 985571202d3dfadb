/**
 * `npm run build:web`: bundles the page (web/src/main.ts, with uPlot and the typed client) into
 * web/dist with esbuild, next to web/index.html and web/src/style.css: the static assets the Worker
 * serves at / ([assets] in wrangler.toml). No CDN, nothing fetched at run time.
 *
 *   npm run build:web
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const WEB = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "web");
const OUT = path.join(WEB, "dist");

/** Builds web/dist; returns its size in bytes. */
export async function buildWeb(): Promise<number> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(WEB, "src/main.ts") },
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: true,
    sourcemap: true,
    outdir: OUT,
    loader: { ".css": "css" },
    metafile: true,
    logLevel: "warning",
    // What web/tsconfig.json types from the client's declarations, bundled from its source.
    alias: { "grid-optimizer/client": path.join(WEB, "..", "client", "index.ts") },
  });
  copyFileSync(path.join(WEB, "index.html"), path.join(OUT, "index.html"));
  return Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = await buildWeb();
  console.log(`web: built ${path.relative(process.cwd(), OUT)} (${(bytes / 1024).toFixed(0)} KB)`);
}
