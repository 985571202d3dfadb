import type { SeriesCache } from "./types";

/**
 * Derived series shared by every task of an isolate, least recently used evicted first once they
 * pass `maxBytes`: a wide grid on a long upload must not take the isolate past its 128 MB.
 */
export interface SharedSeriesCache extends SeriesCache {
  /** A view whose keys are scoped to one dataset (series keys do not name their bars). */
  forDataset(datasetKey: string): SeriesCache;
  readonly bytes: number;
}

export function createSeriesCache(maxBytes = 32 * 1024 * 1024): SharedSeriesCache {
  const memo = new Map<string, Float64Array>();
  let bytes = 0;
  const get = (key: string, compute: () => Float64Array): Float64Array => {
    let series = memo.get(key);
    if (series !== undefined) {
      memo.delete(key);
      memo.set(key, series);
      return series;
    }
    series = compute();
    memo.set(key, series);
    bytes += series.byteLength;
    for (const [oldest, value] of memo) {
      if (bytes <= maxBytes || oldest === key) break;
      memo.delete(oldest);
      bytes -= value.byteLength;
    }
    return series;
  };
  return {
    get,
    forDataset: (datasetKey) => ({ get: (key, compute) => get(`${datasetKey}\u0000${key}`, compute) }),
    get bytes() {
      return bytes;
    },
  };
}
