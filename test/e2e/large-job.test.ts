import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, baseUrl, launch, openAs, KEY, screenshot, topNRows, waitForStatus } from "./browser";

const A = 1_000;
const B = 100;
const TOTAL = A * B;

interface Seen {
  frames: number;
  bytes: number;
  /** The most heatmap cells one frame carried. */
  maxCells: number;
  requests: string[];
}

/** Watches what reaches the page: every WebSocket frame and every HTTP request after it is opened. */
function watchTraffic(page: Page): Seen {
  const seen: Seen = { frames: 0, bytes: 0, maxCells: 0, requests: [] };
  page.on("websocket", (ws) =>
    ws.on("framereceived", ({ payload }) => {
      const text = typeof payload === "string" ? payload : payload.toString("utf8");
      seen.frames += 1;
      seen.bytes += Buffer.byteLength(text);
      const message = JSON.parse(text) as { type: string; heatmap?: { cells: unknown[] } };
      if (message.type === "heatmap") seen.maxCells = Math.max(seen.maxCells, message.heatmap!.cells.length);
    }),
  );
  page.on("request", (request) => seen.requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
  return seen;
}

describe("a 100,000-task job in the page", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
    page = await openAs(browser, KEY);
    // Main-thread work the page could not yield from: Chromium reports every task over 50 ms.
    await page.addInitScript(() => {
      const long: number[] = [];
      Object.assign(window, { __longTasks: long });
      new PerformanceObserver((list) => list.getEntries().forEach((e) => long.push(e.duration))).observe({ type: "longtask", buffered: true });
    });
  });
  afterAll(async () => browser?.close());

  it("follows it to the end from aggregates alone: no task list, frames coalesced, heatmap cells bounded, DOM the size of a small job", async () => {
    const job = await api().submit({
      strategy: "synthetic",
      dataset: "sp500",
      params: { a: { min: 0, max: A - 1, step: 1 }, b: { min: 0, max: B - 1, step: 1 } },
      objective: { metric: "score", mode: "max" },
      concurrencyLimit: 64,
      topN: 10,
    });
    expect(job.summary.total).toBe(TOTAL);
    const seen = watchTraffic(page);
    const started = Date.now();
    await page.goto(`${baseUrl()}/jobs/${job.id}`);
    await waitForStatus(page, ["running", "succeeded"]);
    await screenshot(page, "70-large-job-running");
    expect(await waitForStatus(page, ["succeeded"], 180_000)).toBe("succeeded");
    await expect.poll(() => page.getByTestId("live-state").textContent()).toBe("final");
    const seconds = (Date.now() - started) / 1000;
    await screenshot(page, "71-large-job-succeeded");

    expect(await page.getByTestId("job-progress").textContent()).toBe(`${TOTAL}/${TOTAL}`);
    const ended = await api().status(job.id);
    const rows = await topNRows(page);
    expect(rows).toHaveLength(10);
    const headers = await page.getByTestId("top-n").locator("thead th").allTextContents();
    // Only the metrics the strategy reports get a column: synthetic has its score alone, and no equity curve.
    expect(headers).toEqual(["#", "a", "b", "score", "Plateau", "Equity"]);
    await expect.poll(() => page.getByTestId("equity-label").textContent()).toBe("synthetic records no equity curve for this result.");
    expect(rows.map((r) => [r[headers.indexOf("a")], r[headers.indexOf("b")]])).toEqual(ended.summary.topN.map((e) => [String(e.params.a), String(e.params.b)]));

    // Never a task list: neither the tasks nor the export endpoint was asked for.
    expect(seen.requests.filter((r) => /\/(tasks|export)\b|optimizations\.tasks/.test(r))).toEqual([]);
    // Updates are coalesced to about ten a second (the slack covers snapshots and heatmap frames).
    expect(seen.frames).toBeLessThanOrEqual(Math.ceil(seconds) * 30 + 20);
    // A heatmap frame holds at most 100 x 100 cells, however many tasks: the 1000-value axis is binned.
    expect(seen.maxCells).toBeGreaterThan(0);
    expect(seen.maxCells).toBeLessThanOrEqual(100 * 100);
    // The page is as large as a small job's: rows for the Top-N, not for tasks.
    const nodes = await page.evaluate(() => document.getElementsByTagName("*").length);
    expect(nodes).toBeLessThan(2_000);

    const exported = (await (await api().export(job.id, "json")).text()).length;
    const long = (await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks)) ?? [];
    // Measurements, not assertions (these machines are noisy): what the page cost against what the job weighs.
    console.log(
      `large job: ${TOTAL.toLocaleString("en-US")} tasks in ${seconds.toFixed(1)} s; page received ${seen.frames} frames, ${(seen.bytes / 1e6).toFixed(2)} MB ` +
        `(the export of every task is ${(exported / 1e6).toFixed(2)} MB, ${(exported / seen.bytes).toFixed(1)}x); ${seen.requests.length} HTTP requests; ` +
        `${nodes} DOM nodes; main-thread tasks over 50 ms: ${long.length}, longest ${Math.round(Math.max(0, ...long))} ms`,
    );
  }, 240_000);
});
