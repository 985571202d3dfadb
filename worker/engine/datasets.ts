import sp500Csv from "../../node_modules/vega-datasets/data/sp500-2000.csv";
import { ParamInvalid } from "../errors";
import { parseOhlcvCsv } from "./bars";
import type { Bars } from "./types";

/** S&P 500 daily, 2000-01-03 .. 2020-04-17 (5105 bars), from the vega-datasets package. */
const SOURCES: Readonly<Record<string, string>> = { sp500: sp500Csv };

export const DATASET_IDS: readonly string[] = Object.freeze(Object.keys(SOURCES));

export const hasDataset = (id: string): boolean => Object.hasOwn(SOURCES, id);

const loaded = new Map<string, Bars>();

/**
 * The bars of a built-in dataset, parsed once per isolate. The arrays are shared by every task
 * in the isolate: callers must not write to them.
 */
export function loadBars(id: string): Bars {
  const hit = loaded.get(id);
  if (hit) return hit;
  if (!hasDataset(id)) throw new ParamInvalid(`unknown dataset "${id}"; known: ${DATASET_IDS.join(", ")}`);
  const bars = parseOhlcvCsv(SOURCES[id] as string);
  loaded.set(id, bars);
  return bars;
}
