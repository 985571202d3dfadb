import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { inject } from "vitest";
import { createOptimizerClient, type Job, type OptimizerClient } from "../../client";

/** Where the screenshots of each state go (ignored by git). */
export const SCREENSHOTS = path.resolve("test-output/e2e");
export const KEY = "demo-key";
export const OTHER_TENANT_KEY = "demo2-key";

export const baseUrl = (): string => inject("baseUrl");

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject("chromiumPath"),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage"],
  });
}

/** A new user's page: a fresh context (empty storage), the key typed in and saved as the page asks. */
export async function openAs(browser: Browser, key: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(baseUrl());
  await page.getByLabel("API key", { exact: true }).fill(key);
  await page.getByRole("button", { name: "Save key" }).click();
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export const api = (key = KEY): OptimizerClient => createOptimizerClient({ url: baseUrl(), apiKey: key });

/** The job id in the page's URL once it shows a job (/jobs/<id>). */
export async function jobIdOf(page: Page): Promise<string> {
  await page.waitForURL(/\/jobs\/[A-Za-z0-9-]+$/);
  return new URL(page.url()).pathname.split("/").pop()!;
}

/** Waits for the status badge to read one of `statuses`; answers what it reads. */
export async function waitForStatus(page: Page, statuses: readonly Job["status"][], timeout = 90_000): Promise<string> {
  await page.waitForFunction(
    (wanted: string[]) => wanted.includes(document.querySelector('[data-testid="job-status"]')?.textContent?.trim() ?? ""),
    [...statuses] as string[],
    { timeout, polling: 100 },
  );
  return (await page.getByTestId("job-status").textContent())!.trim();
}

/** Pixels of a canvas that are neither blank nor the plot's empty background: proof something was drawn. */
export async function drawnPixels(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((el) => {
    const canvas = el instanceof HTMLCanvasElement ? el : el.querySelector("canvas");
    if (!canvas) return 0;
    const g = canvas.getContext("2d");
    if (!g) return 0;
    const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, gr, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
      const background = a === 0 || (r === 236 && gr === 239 && b === 243) || (r > 240 && gr > 240 && b > 240);
      if (!background && !(r === gr && gr === b)) n++;
    }
    return n;
  });
}

/** The Top-N table's rows as the page shows them: each row's cell texts. */
export async function topNRows(page: Page): Promise<string[][]> {
  return page.getByTestId("top-n").locator("tbody tr").evaluateAll((rows) => rows.map((r) => Array.from((r as HTMLTableRowElement).cells, (c) => c).map((c) => (c.textContent ?? "").trim())));
}
