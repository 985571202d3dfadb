/**
 * `npm run build:client` (npm install runs it through `prepare`): the client package `pkg/` that the
 * `gridopt` bin and `grid-optimizer/client` point at. esbuild bundles the client (browsers, Node, Bun)
 * and the CLI (Node, Bun) as ESM, their npm dependencies left as imports; `tsc -p tsconfig.client.json`
 * writes the declarations beside them (pkg/types).
 *
 *   npm run build:client
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "pkg", "client");
const TYPES = path.join(ROOT, "pkg", "types");
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

/**
 * Gives the declarations' relative imports the `.js` ending Node's ESM resolution wants (tsc writes
 * them as the sources have them, extensionless), so that projects on `moduleResolution: NodeNext`
 * get the types as well as bundler ones.
 */
export function fixDeclarationImports(dir = TYPES): number {
  let changed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(/(from\s*|import\()(["'])(\.{1,2}\/[^"']+?)\2/g, (whole, lead: string, quote: string, spec: string) => {
      if (/\.(js|mjs|cjs|json)$/.test(spec)) return whole;
      const target = path.resolve(entry.parentPath, spec);
      if (existsSync(`${target}.d.ts`)) return `${lead}${quote}${spec}.js${quote}`;
      if (existsSync(path.join(target, "index.d.ts"))) return `${lead}${quote}${spec}/index.js${quote}`;
      return whole;
    });
    if (fixed !== text) {
      writeFileSync(file, fixed);
      changed++;
    }
  }
  return changed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildClient();
  const fixed = fixDeclarationImports();
  console.log(`client: built ${path.relative(process.cwd(), OUT)} (${fixed} declaration files given .js imports)`);
}
