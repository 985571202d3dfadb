import { describe, expect, it } from "vitest";
import { createSeriesCache } from "../../worker/engine/series-cache";

describe("the shared series cache", () => {
  it("computes a series once, scopes keys per dataset, and evicts the least recently used past its budget", () => {
    const cache = createSeriesCache(3 * 800);
    let computed = 0;
    const series = () => (computed++, new Float64Array(100));
    const a = cache.forDataset("a");
    const b = cache.forDataset("b");
    const x = a.get("sma:1", series);
    expect(a.get("sma:1", series)).toBe(x);
    expect(b.get("sma:1", series)).not.toBe(x);
    a.get("sma:2", series);
    a.get("sma:1", series);
    a.get("sma:3", series);
    expect(cache.bytes).toBe(2400);
    expect(computed).toBe(4);
    // b's series was used least recently: it goes; a's stay.
    a.get("sma:1", series);
    b.get("sma:1", series);
    expect(computed).toBe(5);
    expect(cache.bytes).toBe(2400);
  });
});
