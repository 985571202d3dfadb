import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, jobIdOf, launch, openAs, KEY, screenshot, topNRows, waitForStatus } from "./browser";

/** Fills the form for the synthetic strategy: score = x over x in 0..max, each task sleeping sleepMs. */
async function syntheticForm(page: Page, { max, sleepMs, concurrency }: { max: number; sleepMs: number; concurrency: number }): Promise<void> {
  await page.goto(new URL("/", page.url()).toString());
  await page.getByLabel("Strategy", { exact: true }).selectOption("synthetic");
  await page.getByLabel("New parameter", { exact: true }).fill("x");
  await page.getByRole("button", { name: "Add parameter" }).click();
  await page.locator('input[name="params.x.max"]').fill(String(max));
  await page.locator('input[name="params.sleepMs.values"]').fill(String(sleepMs));
  await page.getByLabel("Concurrency", { exact: true }).fill(String(concurrency));
  await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe(`Grid size: ${(max + 1).toLocaleString("en-US")} combinations`);
}

describe("ending a job early from the page", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
    page = await openAs(browser, KEY);
  });
  afterAll(async () => browser?.close());

  it("an early-stop policy: the page shows early-stopped, the stop reason and a Top-N that no longer changes", async () => {
    await syntheticForm(page, { max: 399, sleepMs: 20, concurrency: 4 });
    await page.getByLabel("Stop early", { exact: true }).check();
    await page.getByLabel("Threshold", { exact: true }).fill("120");
    await page.getByRole("button", { name: "Start optimization" }).click();
    const jobId = await jobIdOf(page);

    expect(await waitForStatus(page, ["early-stopped"])).toBe("early-stopped");
    expect(await page.getByTestId("stop-reason").textContent()).toMatch(/^Early stop: score reached \d+\.000 \(≥ 120\.000\) at task [\w-]+\.\d+, /);
    const job = await api().status(jobId);
    expect(job.stopReason).toMatchObject({ kind: "early-stop", metric: "score", threshold: 120 });
    expect(job.summary.finished).toBeLessThan(400);
    const [finished, total] = (await page.getByTestId("job-progress").textContent())!.split("/").map(Number);
    expect([finished, total]).toEqual([job.summary.finished, job.summary.total]);

    const shown = await topNRows(page);
    const headers = await page.getByTestId("top-n").locator("thead th").allTextContents();
    const xColumn = headers.indexOf("x");
    expect(shown.map((r) => r[xColumn])).toEqual(job.summary.topN.map((e) => String(e.params.x)));
    expect(Number(shown[0]![xColumn])).toBeGreaterThanOrEqual(120);
    await screenshot(page, "10-early-stopped");
    // Nothing runs after the stop: the job (as the API reads it) and the page stay as they are.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const later = await api().status(jobId);
    expect(later.summary).toEqual(job.summary);
    expect(later.finishedAt).toBe(job.finishedAt);
    await page.reload();
    expect(await waitForStatus(page, ["early-stopped"])).toBe("early-stopped");
    await expect.poll(() => topNRows(page)).toEqual(shown);
    expect(await page.getByTestId("job-progress").textContent()).toBe(`${finished}/${total}`);
    expect(await page.getByRole("button", { name: "Cancel", exact: true }).isDisabled()).toBe(true);
  });

  it("Cancel asks first, then the page shows the 202 outcome and the status canceled", async () => {
    await syntheticForm(page, { max: 999, sleepMs: 100, concurrency: 2 });
    await page.getByRole("button", { name: "Start optimization" }).click();
    const jobId = await jobIdOf(page);
    await waitForStatus(page, ["running"]);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="job-progress"]')?.textContent?.split("/")[0]) > 0);

    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel this optimization?" });
    expect(await dialog.isVisible()).toBe(true);
    await screenshot(page, "11-cancel-confirm");
    // Keep running first: nothing happens.
    await dialog.getByRole("button", { name: "Keep running" }).click();
    expect(await api().status(jobId)).toMatchObject({ status: "running" });

    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    await dialog.getByRole("button", { name: "Yes, cancel the job" }).click();
    await expect.poll(() => page.getByTestId("cancel-outcome").textContent()).toMatch(/^202 Accepted: the job is canceled \(\d+\/1000 tasks had finished\)\.$/);
    expect(await waitForStatus(page, ["canceled"], 10_000)).toBe("canceled");
    expect(await page.getByTestId("stop-reason").textContent()).toMatch(/^Canceled: canceled from the web page at /);
    const job = await api().status(jobId);
    expect(job).toMatchObject({ status: "canceled", stopReason: { kind: "cancel", reason: "canceled from the web page" } });
    await expect.poll(() => page.getByTestId("live-state").textContent()).toBe("final");
    await screenshot(page, "12-canceled");
  });
});
