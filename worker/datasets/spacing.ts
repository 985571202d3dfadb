import { BARS_PER_YEAR, type Annualisation, type BarSpacing } from "../../schema/dataset";

const DAY_MS = 86_400_000;

/**
 * Gap classes in days, in increasing order, so the class of the median gap is the class holding
 * the middle of the gaps counted per class (no sort). Daily allows long weekends and holidays
 * (a Friday to a Tuesday is 4 days); weekly and monthly allow a holiday's shift either way.
 */
const CLASSES: readonly { below: number; spacing: "intraday" | "daily" | "weekly" | "monthly" | null }[] = [
  { below: 0.75, spacing: "intraday" },
  { below: 4.5, spacing: "daily" },
  { below: 10, spacing: "weekly" },
  { below: 20, spacing: null },
  { below: 45, spacing: "monthly" },
  { below: Infinity, spacing: null },
];

/**
 * Mean gap, in days, between daily bars below which the data has weekends (7 bars a week: mean
 * 1 day) rather than trading days only (5 a week: 1.4 days, holidays add more): halfway.
 */
const CALENDAR_DAILY_MAX_MEAN_GAP = 1.2;

export type SpacingResult = { annualisation: Annualisation } | { problem: string };

/**
 * How a dataset's bars are spaced, from the median gap between consecutive bars (`time`: epoch ms,
 * strictly increasing, given as consecutive pieces): daily (252 bars a year, or 365 when the bars
 * include weekends), weekly (52), monthly (12). Intraday data, or a median gap of none of these,
 * is a problem (the strategies and metrics are for daily bars or coarser). One pass, no allocation:
 * called once per dataset load or upload, never per task.
 */
export function detectSpacing(time: readonly Float64Array[], length: number): SpacingResult {
  if (length < 2) return { problem: `${length} bar${length === 1 ? "" : "s"}: the bar spacing needs at least 2` };
  const counts = new Array<number>(CLASSES.length).fill(0);
  let dailyDays = 0;
  let prev = Number.NaN;
  let seen = 0;
  for (const piece of time) {
    const take = Math.min(piece.length, length - seen);
    for (let i = 0; i < take; i++) {
      const t = piece[i]!;
      if (seen + i > 0) {
        const days = (t - prev) / DAY_MS;
        let k = 0;
        while (days >= CLASSES[k]!.below) k++;
        counts[k]!++;
        if (CLASSES[k]!.spacing === "daily") dailyDays += days;
      }
      prev = t;
    }
    seen += take;
    if (seen >= length) break;
  }
  // The lower median: the gap at sorted position floor((gaps - 1) / 2).
  const middle = Math.floor((length - 2) / 2);
  let k = 0;
  for (let below = counts[0]!; below <= middle; below += counts[++k]!);
  const spacing = CLASSES[k]!.spacing;
  if (spacing === "intraday") {
    return { problem: "the median gap between bars is under 18 hours: intraday data is not supported, the strategies are for daily bars (or weekly, monthly)" };
  }
  if (spacing === null) {
    const range = k === CLASSES.length - 1 ? `over ${CLASSES[k - 1]!.below} days` : `${CLASSES[k - 1]!.below} to ${CLASSES[k]!.below} days`;
    return { problem: `the median gap between bars is ${range}: the supported spacings are daily, weekly (about 7 days) and monthly (about 30)` };
  }
  const label: BarSpacing = spacing === "daily" ? (dailyDays / counts[1]! < CALENDAR_DAILY_MAX_MEAN_GAP ? "daily-calendar" : "daily-trading") : spacing;
  return { annualisation: { spacing: label, barsPerYear: BARS_PER_YEAR[label] } };
}

/** detectSpacing of one time column, a problem thrown as the error the caller names. */
export function annualisationOf(time: Float64Array, toError: (problem: string) => Error): Annualisation {
  const result = detectSpacing([time], time.length);
  if ("problem" in result) throw toError(result.problem);
  return result.annualisation;
}
