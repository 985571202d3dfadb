import type { SeriesCache } from "./types";

/** A memo of derived series. Keys do not name the bars, so use one cache per Bars. */
export function createSeriesCache(): SeriesCache {
  const memo = new Map<string, Float64Array>();
  return {
    get(key, compute) {
      let series = memo.get(key);
      if (series === undefined) {
        series = compute();
        memo.set(key, series);
      }
      return series;
    },
  };
}
