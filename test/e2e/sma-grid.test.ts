import { readFileSync } from "node:fs";
import type { Browser, Page, WebSocket as PageSocket } from "playwright-core";
import Papa from "papaparse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, drawnPixels, jobIdOf, launch, openAs, KEY, screenshot, topNRows, waitForStatus } from "./browser";

/**
 * A new user's first run: the SMA crossover's default grid on the S&P 500 from the form, watched live
 * over the job's WebSocket to the end; the Top-N is the API's, the heatmap, robustness view and an
 * equity curve are drawn, and the export holds every task.
 */
/** fast 2..100 (99 values) x slow 10..600 (591 values), less the pairs where fast >= slow. */
const GRID_SIZE = (() => {
  let n = 0;
  for (let fast = 2; fast <= 100; fast++) for (let slow = 10; slow <= 600; slow++) if (fast < slow) n++;
  return n;
})();

describe("an SMA grid on the S&P 500, from the form to the export", () => {
  let browser: Browser;
  let page: Page;
  let jobId: string;
  const frames: { type: string; status?: string; topN?: number; finished?: number }[] = [];

  beforeAll(async () => {
    browser = await launch();
    page = await openAs(browser, KEY);
    page.on("websocket", (ws: PageSocket) =>
      ws.on("framereceived", ({ payload }) => {
        const message = JSON.parse(String(payload)) as { type: string; job?: { status: string; summary: { topN: unknown[]; finished: number } } };
        frames.push({ type: message.type, status: message.job?.status, topN: message.job?.summary.topN.length, finished: message.job?.summary.finished });
      }),
    );
  });
  afterAll(async () => browser?.close());

  it("builds the form from the strategies: SMA crossover on sp500 with its default ranges and the grid size", async () => {
    await expect.poll(() => page.getByLabel("Strategy", { exact: true }).inputValue()).toBe("sma-crossover");
    expect(await page.getByLabel("Dataset", { exact: true }).inputValue()).toBe("sp500");
    expect(await page.locator('[data-param="fast"] input[name="params.fast.min"]').inputValue()).toBe("5");
    // fast 5..50 step 5 and slow 20..200 step 20: 10 x 10.
    await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe("Grid size: 100 combinations");
    await page.locator('input[name="params.slow.max"]').fill("100");
    await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe("Grid size: 50 combinations");
    await page.getByLabel("Parameter constraints", { exact: true }).fill("fast < slow");
    await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe("Grid size: 40 combinations");
    // A grid long enough to watch: fast 2..100 and slow 10..600, fast below slow.
    await page.locator('input[name="params.fast.min"]').fill("2");
    await page.locator('input[name="params.fast.max"]').fill("100");
    await page.locator('input[name="params.fast.step"]').fill("1");
    await page.locator('input[name="params.slow.min"]').fill("10");
    await page.locator('input[name="params.slow.max"]').fill("600");
    await page.locator('input[name="params.slow.step"]').fill("1");
    await expect.poll(() => page.getByTestId("grid-size").textContent()).toBe(`Grid size: ${GRID_SIZE.toLocaleString("en-US")} combinations`);
    await screenshot(page, "01-form");
  });

  it("submits, watches the Top-N fill in over the WebSocket, and ends succeeded with the API's Top-N", async () => {
    // One backtest at a time, so that the run lasts long enough to watch.
    await page.getByLabel("Concurrency", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Start optimization" }).click();
    jobId = await jobIdOf(page);
    await waitForStatus(page, ["running", "succeeded"]);
    await screenshot(page, "02-running");
    expect(await waitForStatus(page, ["succeeded"])).toBe("succeeded");
    expect(await page.getByTestId("job-progress").textContent()).toBe(`${GRID_SIZE}/${GRID_SIZE}`);
    await expect.poll(() => page.getByTestId("live-state").textContent()).toBe("final");

    // The stream: a snapshot first, updates carrying a Top-N, a last snapshot with the end.
    expect(frames[0]?.type).toBe("snapshot");
    // Pushed while it ran: updates with a Top-N and more finished tasks each time.
    const running = frames.filter((f) => f.type === "update" && f.status === "running" && (f.topN ?? 0) > 0).map((f) => f.finished!);
    expect(running.length).toBeGreaterThanOrEqual(3);
    expect(running).toEqual([...running].sort((a, b) => a - b));
    expect(frames.some((f) => f.type === "heatmap")).toBe(true);
    expect(frames.at(-1)).toMatchObject({ type: "snapshot", status: "succeeded", topN: 10 });

    const job = await api().status(jobId);
    const rows = await topNRows(page);
    expect(rows).toHaveLength(10);
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual(job.summary.topN.map((e, i) => [String(i + 1), String(e.params.fast), String(e.params.slow)]));
    expect(rows.map((r) => r[3])).toEqual(job.summary.topN.map((e) => e.score.toFixed(3)));
    await screenshot(page, "03-succeeded");
  });

  it("draws the heatmap and the robustness view, and marks which Top-N entries sit on a plateau", async () => {
    await expect.poll(() => drawnPixels(page, "heatmap")).toBeGreaterThan(1_000);
    await expect.poll(() => drawnPixels(page, "robustness")).toBeGreaterThan(1_000);
    const heatmap = await api().heatmap(jobId, { x: "fast", y: "slow", agg: "max" });
    // slow's 591 values are binned by 6 so the map stays within 100 x 100 cells: the page never holds every task.
    expect([heatmap.x.values.length, heatmap.y.binSize, heatmap.y.values.length]).toEqual([99, 6, 99]);
    expect(await page.getByTestId("plateau-summary").textContent()).toMatch(
      new RegExp(`^${GRID_SIZE.toLocaleString("en-US")} results in ${heatmap.cells.length.toLocaleString("en-US")} cells\\. Top-N on a plateau: `),
    );
    // Every Top-N row has a verdict once the heatmap is in.
    expect((await topNRows(page)).every((r) => ["plateau", "spike", "?"].includes(r.at(-2)!))).toBe(true);
    await page.getByLabel("robustness", { exact: true }).selectOption("worst");
    await expect.poll(() => drawnPixels(page, "robustness")).toBeGreaterThan(1_000);
    await screenshot(page, "04-heatmap");
  });

  it("draws a result's equity curve, and the Top-N's overlaid", async () => {
    await page.getByRole("button", { name: "Show the equity curve of #2" }).click();
    await expect.poll(() => page.getByTestId("equity-label").textContent()).toMatch(/^Equity of #2 fast=\d+ slow=\d+: total return -?\d+\.\d%/);
    await expect.poll(() => drawnPixels(page, "equity-chart")).toBeGreaterThan(200);
    await page.getByLabel("Overlay the Top-N curves", { exact: true }).check();
    await expect.poll(() => page.getByTestId("equity-label").textContent()).toMatch(/; 9 more overlaid\.$/);
    expect(await page.getByTestId("equity-chart").locator(".u-legend .u-series").count()).toBe(11);
    await screenshot(page, "05-equity");
  });

  it("exports every task with its params and metrics as CSV", async () => {
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export CSV" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`${jobId}.csv`);
    const parsed = Papa.parse<Record<string, string>>(readFileSync((await file.path())!, "utf8"), { header: true, skipEmptyLines: true });
    expect(parsed.data).toHaveLength(GRID_SIZE);
    expect(parsed.meta.fields).toEqual(expect.arrayContaining(["index", "status", "fast", "slow", "sharpe", "totalReturn"]));
    expect(new Set(parsed.data.map((r) => r.status))).toEqual(new Set(["succeeded"]));
    await expect.poll(() => page.getByTestId("export-status").textContent()).toMatch(new RegExp(`^Exported ${jobId}\\.csv`));
  });

  it("lists the job with its status on the home page, and a deep link opens it", async () => {
    await page.getByRole("link", { name: "← All optimizations" }).click();
    await expect.poll(() => page.locator(`tr[data-job="${jobId}"] .badge`).textContent()).toBe("succeeded");
    await page.goto(new URL(`/jobs/${jobId}`, page.url()).toString());
    expect(await waitForStatus(page, ["succeeded"])).toBe("succeeded");
  });
});
