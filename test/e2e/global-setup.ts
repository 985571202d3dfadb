import type { TestProject } from "vitest/node";
import { ensureChromium } from "../../scripts/ensure-chromium";
import { startLocalStack } from "../../scripts/local-stack";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    chromiumPath: string;
  }
}

/** One Chromium (installed if missing) and one `wrangler dev` (which builds the page first) for every browser test. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const chromiumPath = ensureChromium();
  const stack = await startLocalStack({ log: (line) => process.stderr.write(`e2e: ${line}\n`) });
  project.provide("baseUrl", stack.url);
  project.provide("chromiumPath", chromiumPath);
  return async () => {
    if (stack.reloads() > 0) process.stderr.write(`e2e: wrangler dev reloaded ${stack.reloads()} times during the run\n`);
    await stack.stop();
  };
}
