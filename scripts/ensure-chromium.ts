/**
 * Finds the Chromium the browser tests drive (Debian's package; Playwright's own download does not
 * work on these machines) and installs it on Debian when it is missing: `apt-get update`, then
 * `apt-get install -y chromium`, as root or through passwordless sudo. Anywhere else it says plainly
 * what is missing. CHROMIUM_PATH points at another binary.
 *
 *   npx tsx scripts/ensure-chromium.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const APT_TIMEOUT_MS = 15 * 60_000;

export class ChromiumMissing extends Error {
  override readonly name = "ChromiumMissing";
}

const found = (): string | undefined => {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new ChromiumMissing(`CHROMIUM_PATH=${override}: no such file`);
    return override;
  }
  return CANDIDATES.find((p) => existsSync(p));
};

function run(command: string[], log: (line: string) => void): void {
  log(`$ ${command.join(" ")}`);
  const [bin, ...args] = command as [string, ...string[]];
  const result = spawnSync(bin, args, { stdio: ["ignore", "inherit", "inherit"], timeout: APT_TIMEOUT_MS, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (result.error) throw new ChromiumMissing(`${command.join(" ")} could not run: ${result.error.message}`);
  if (result.status !== 0) throw new ChromiumMissing(`${command.join(" ")} exited with ${result.status ?? result.signal}`);
}

/** The path of a Chromium binary, installing Debian's package first when there is none. */
export function ensureChromium(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const existing = found();
  if (existing) return existing;
  if (!existsSync("/etc/debian_version")) {
    throw new ChromiumMissing(`the browser tests need Chromium at ${CANDIDATES.join(" or ")} (or CHROMIUM_PATH); this is not Debian, so install it yourself`);
  }
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  if (!root && !sudo) {
    throw new ChromiumMissing("the browser tests need Chromium: run `sudo apt-get update && sudo apt-get install -y chromium` (no root or passwordless sudo here)");
  }
  const prefix = root ? [] : ["sudo", "-n"];
  log("Chromium is missing: installing Debian's package for the browser tests");
  run([...prefix, "apt-get", "update"], log);
  run([...prefix, "apt-get", "install", "-y", "--no-install-recommends", "chromium"], log);
  const installed = found();
  if (!installed) throw new ChromiumMissing(`apt-get installed chromium but none of ${CANDIDATES.join(", ")} exists`);
  return installed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureChromium());
  } catch (err) {
    console.error(`ensure-chromium: ${(err as Error).message}`);
    process.exit(1);
  }
}
