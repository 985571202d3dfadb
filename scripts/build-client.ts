/**
 * `npm run build:client` (npm install runs it through `prepare`): the client package `pkg/` that the
 * `gridopt` bin and `grid-optimizer/client` point at. esbuild bundles the client (browsers, Node, Bun)
 * and the CLI (Node, Bun) as ESM, their npm dependencies left as imports; `tsc -p tsconfig.client.json`
 * writes the declarations beside them (pkg/types).
 *
 *   npm run build:client
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "pkg", "client");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

export async function buildClient(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const common = {
    bundle: true,
    format: "esm",
    target: "es2022",
    // What the package depends on stays an import; everything of this repository is bundled in.
    external: Object.keys(manifest.dependencies),
    logLevel: "warning",
  } as const;
  await build({ ...common, entryPoints: [path.join(ROOT, "client/index.ts")], outfile: path.join(OUT, "index.mjs"), platform: "neutral" });
  await build({ ...common, entryPoints: [path.join(ROOT, "client/cli/main.ts")], outfile: path.join(OUT, "cli.mjs"), platform: "node" });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildClient();
  console.log(`client: built ${path.relative(process.cwd(), OUT)}`);
}
