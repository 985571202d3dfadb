import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, baseUrl, launch, openAs, KEY, OTHER_TENANT_KEY, screenshot } from "./browser";

describe("validation errors, tenants and a phone's width", () => {
  let browser: Browser;
  let page: Page;
  let jobId: string;

  beforeAll(async () => {
    browser = await launch();
    page = await openAs(browser, KEY);
    const job = await api().submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 40, max: 100, step: 20 } },
      objective: { metric: "sharpe", mode: "max" },
    });
    jobId = job.id;
  });
  afterAll(async () => browser?.close());

  it("shows the API's validation errors next to the fields their paths name", async () => {
    await page.locator('input[name="params.fast.max"]').fill("1");
    await page.getByLabel("Top-N size", { exact: true }).fill("500");
    await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe("Grid size: – (complete every axis)");
    await page.getByRole("button", { name: "Start optimization" }).click();
    const maxError = page.getByTestId("error-params.fast.max");
    await expect.poll(() => maxError.textContent()).toBe("max must be >= min");
    expect(await maxError.isVisible()).toBe(true);
    expect(await page.getByTestId("error-topN").textContent()).toBe("Too big: expected number to be <=100");
    expect(await page.locator('input[name="params.fast.max"]').getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByTestId("form-error").textContent()).toMatch(/^invalid input \(validation_failed\): see the marked fields\./);
    expect(page.url()).toBe(`${baseUrl()}/`);
    await screenshot(page, "20-validation");

    // Fixing the fields clears the errors and starts the job.
    await page.locator('input[name="params.fast.max"]').fill("20");
    await page.getByLabel("Top-N size", { exact: true }).fill("5");
    await page.getByRole("button", { name: "Start optimization" }).click();
    await page.waitForURL(/\/jobs\//);
  });

  it("another tenant's key does not see the job: not in its list, and its deep link is not found", async () => {
    const other = await openAs(browser, OTHER_TENANT_KEY);
    await expect.poll(() => other.getByTestId("jobs").locator("tbody tr").count().then(async (n) => n > 0 || (await other.getByText("No optimizations yet").count()) > 0)).toBe(true);
    expect(await other.locator(`tr[data-job="${jobId}"]`).count()).toBe(0);
    await other.goto(`${baseUrl()}/jobs/${jobId}`);
    await expect.poll(() => other.getByTestId("page-error").textContent()).toMatch(new RegExp(`^Optimization ${jobId}: not found`));
    expect(await other.getByTestId("job-status").count()).toBe(0);
    // The live ticket is refused too: the POST answers 404 for the other tenant.
    const res = await fetch(`${baseUrl()}/api/v1/optimizations/${jobId}/live`, { method: "POST", headers: { authorization: `Bearer ${OTHER_TENANT_KEY}` } });
    expect(res.status).toBe(404);
    await screenshot(other, "21-other-tenant");
    await other.context().close();
  });

  it("reads at a phone's width (390 px): nothing wider than the screen but the tables, which scroll", async () => {
    const phone = await openAs(browser, KEY, { width: 390, height: 844 });
    await phone.goto(`${baseUrl()}/jobs/${jobId}`);
    await phone.waitForFunction(() => document.querySelector('[data-testid="job-status"]')?.textContent === "succeeded", undefined, { timeout: 60_000 });
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await phone.getByTestId("heatmap").evaluate((el) => el.getBoundingClientRect().width)).toBeLessThanOrEqual(390);
    await screenshot(phone, "22-phone-job");
    await phone.goto(baseUrl());
    await phone.getByRole("button", { name: "Start optimization" }).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(phone, "23-phone-form");
    // Every control is reachable by keyboard: Tab from the top reaches the submit button.
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await phone.keyboard.press("Tab");
      reached = await phone.evaluate(() => document.activeElement?.textContent === "Start optimization");
    }
    expect(reached).toBe(true);
    await phone.context().close();
  });
});
