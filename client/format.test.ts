import { describe, expect, it } from "vitest";
import { duration, metric, paramValue, rate, readNumberOr, readParamValue } from "./format";

describe("number formatting", () => {
  it("writes returns as percentages, trades whole, ratios to 3 decimals, and a dash for what is missing", () => {
    expect([metric("totalReturn", 1.98612), metric("maxDrawdown", -0.152), metric("trades", 24), metric("sharpe", 0.59049)]).toEqual(["198.6%", "-15.2%", "24", "0.590"]);
    expect([metric("sharpe", null), metric("sharpe", Number.NaN), metric("cagr", undefined)]).toEqual(["–", "–", "–"]);
  });
  it("params without float noise, durations and rates a person reads", () => {
    expect([paramValue(0.1 + 0.2), paramValue(true), paramValue("x"), paramValue(undefined)]).toEqual(["0.3", "true", "x", "–"]);
    expect([duration(42.4), duration(185), duration(7440), duration(null)]).toEqual(["42 s", "3 min 5 s", "2 h 4 min", "–"]);
    expect([rate(10781.2), rate(3.25), rate(null)]).toEqual(["10781 tasks/s", "3.3 tasks/s", "–"]);
  });
  it("reads a typed param value as the grid has it: booleans, numbers, else text", () => {
    expect([" 20 ", "-0.5", "1e3", "true", "false", "close", "", "Infinity"].map(readParamValue)).toEqual([20, -0.5, 1000, true, false, "close", "", "Infinity"]);
    expect([" 20 ", "slow", "true", ""].map(readNumberOr)).toEqual([20, "slow", "true", ""]);
  });
});
