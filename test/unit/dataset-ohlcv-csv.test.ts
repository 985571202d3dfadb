import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../lib/errors";
import { parseOhlcvCsv } from "../../worker/datasets/ohlcv-csv";
import { builtinBarsSync, isBuiltinDataset } from "../../worker/datasets/builtin";

const DAY = 86_400_000;

describe("parseOhlcvCsv", () => {
  it("reads any column order and case, CRLF, and zero-fills a missing volume", () => {
    const bars = parseOhlcvCsv("Close,DATE,low,High,open\r\n10.5,2020-01-02,9,11,10\r\n11,2020-01-03,10,12,10.5\r\n");
    expect(bars.length).toBe(2);
    expect(Array.from(bars.time)).toEqual([Date.UTC(2020, 0, 2), Date.UTC(2020, 0, 3)]);
    expect(Array.from(bars.open)).toEqual([10, 10.5]);
    expect(Array.from(bars.high)).toEqual([11, 12]);
    expect(Array.from(bars.low)).toEqual([9, 10]);
    expect(Array.from(bars.close)).toEqual([10.5, 11]);
    expect(Array.from(bars.volume)).toEqual([0, 0]);
    expect(bars.close).toBeInstanceOf(Float64Array);
  });

  it("keeps close, not adjclose, and reads volume", () => {
    const bars = parseOhlcvCsv("date,open,high,low,close,adjclose,volume\n2020-01-02,1,2,0.5,1.5,1.2,300\n2020-01-03,1,2,0.5,1.5,1.2,300\n");
    expect(bars.close[0]).toBe(1.5);
    expect(bars.volume[0]).toBe(300);
  });

  it.each([
    ["an empty file", ""],
    ["a header only", "date,open,high,low,close\n"],
    ["a missing column", "date,open,high,close\n2020-01-02,1,2,1.5\n"],
    ["an unknown column", "date,open,high,low,close,foo\n2020-01-02,1,2,0.5,1.5,1\n"],
    ["a duplicate column", "date,open,high,low,close,Close\n2020-01-02,1,2,0.5,1.5,1.5\n"],
    ["a short row", "date,open,high,low,close\n2020-01-02,1,2,0.5\n"],
    ["an empty cell", "date,open,high,low,close\n2020-01-02,,2,0.5,1.5\n"],
    ["a non-number", "date,open,high,low,close\n2020-01-02,1,2,0.5,abc\n"],
    ["a zero close", "date,open,high,low,close\n2020-01-02,1,2,0.5,0\n"],
    ["an impossible date", "date,open,high,low,close\n2021-02-30,1,2,0.5,1.5\n"],
    ["a non-ISO date", "date,open,high,low,close\n01/02/2020,1,2,0.5,1.5\n"],
    ["a blank line inside", "date,open,high,low,close\n2020-01-02,1,2,0.5,1.5\n\n2020-01-03,1,2,0.5,1.5\n"],
    ["dates out of order", "date,open,high,low,close\n2020-01-03,1,2,0.5,1.5\n2020-01-02,1,2,0.5,1.5\n"],
    ["a repeated date", "date,open,high,low,close\n2020-01-02,1,2,0.5,1.5\n2020-01-02,1,2,0.5,1.5\n"],
    ["a low above the close", "date,open,high,low,close\n2020-01-02,1,2,1.2,1.1\n"],
    ["a high below the open", "date,open,high,low,close\n2020-01-02,1.5,1.4,0.5,1\n"],
  ])("rejects %s with UpstreamError", (_, csv) => {
    expect(() => parseOhlcvCsv(csv)).toThrow(UpstreamError);
  });
});

describe("datasets", () => {
  it("lists sp500", () => {
    expect(isBuiltinDataset("sp500")).toBe(true);
    expect(isBuiltinDataset("nope")).toBe(false);
    expect(isBuiltinDataset("constructor")).toBe(false);
  });

  it("loads the S&P 500 daily file: 5105 bars, 2000-01-03 .. 2020-04-17", () => {
    const bars = builtinBarsSync("sp500")!;
    expect(bars.length).toBe(5105);
    for (const col of [bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume]) expect(col.length).toBe(5105);
    expect(bars.time[0]).toBe(Date.UTC(2000, 0, 3));
    expect(bars.time[5104]).toBe(Date.UTC(2020, 3, 17));
    // First row: 2000-01-03,1469.250000,1478.000000,1438.359985,1455.219971,1455.219971,931800000
    expect([bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]]).toEqual([
      1469.25, 1478, 1438.359985, 1455.219971, 931800000,
    ]);
    expect(bars.close[5104]).toBe(2874.560059);
    for (let i = 1; i < bars.length; i++) {
      // Daily data: UTC midnights, increasing.
      expect(bars.time[i]! % DAY === 0 && bars.time[i]! > bars.time[i - 1]!).toBe(true);
    }
  });

  it("parses once and caches", () => {
    expect(builtinBarsSync("sp500")).toBe(builtinBarsSync("sp500"));
  });
});
