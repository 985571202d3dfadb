import { describe, expect, it } from "vitest";
import { detectSpacing } from "../../worker/datasets/spacing";

const DAY = 86_400_000;
const T0 = Date.UTC(2021, 0, 4); // a Monday

const spacingOf = (time: number[]) => detectSpacing([Float64Array.from(time)], time.length);
/** n calendar days from T0 that `keep` accepts (by day index). */
const days = (n: number, keep: (i: number) => boolean = () => true) => Array.from({ length: n }, (_, i) => i).filter(keep).map((i) => T0 + i * DAY);
const weekday = (i: number) => i % 7 < 5;

describe("detectSpacing", () => {
  it("weekdays, with holidays and a long closure, are trading days: 252 a year", () => {
    // Holidays every 40 days and a missing month do not move the median or the daily mean much.
    const time = days(1000, (i) => weekday(i) && i % 40 !== 17 && !(i >= 300 && i < 330));
    expect(spacingOf(time)).toEqual({ annualisation: { spacing: "daily-trading", barsPerYear: 252 } });
  });

  it("every calendar day (crypto-like) is 365 a year, even with a few days missing", () => {
    expect(spacingOf(days(400, (i) => i % 50 !== 9))).toEqual({ annualisation: { spacing: "daily-calendar", barsPerYear: 365 } });
  });

  it("Sunday to Thursday trading weeks are trading days too", () => {
    expect(spacingOf(days(400, (i) => i % 7 !== 4 && i % 7 !== 5))).toEqual({ annualisation: { spacing: "daily-trading", barsPerYear: 252 } });
  });

  it("weekly bars (a holiday shifting one by a day) are 52 a year, monthly month-ends 12", () => {
    const weekly = Array.from({ length: 100 }, (_, i) => T0 + 7 * i * DAY - (i % 13 === 5 ? DAY : 0));
    expect(spacingOf(weekly)).toEqual({ annualisation: { spacing: "weekly", barsPerYear: 52 } });
    const monthEnds = Array.from({ length: 60 }, (_, i) => Date.UTC(2015, i + 1, 0));
    expect(spacingOf(monthEnds)).toEqual({ annualisation: { spacing: "monthly", barsPerYear: 12 } });
  });

  it("follows the median gap: weekly data with a daily stretch shorter than half is weekly", () => {
    const time = [...Array.from({ length: 60 }, (_, i) => T0 + 7 * i * DAY), ...Array.from({ length: 50 }, (_, i) => T0 + 60 * 7 * DAY + (i + 1) * DAY)];
    expect(spacingOf(time)).toEqual({ annualisation: { spacing: "weekly", barsPerYear: 52 } });
  });

  it("refuses intraday bars and spacings it does not know, saying why", () => {
    const hourly = Array.from({ length: 100 }, (_, i) => T0 + i * 3_600_000);
    expect(spacingOf(hourly)).toEqual({ problem: expect.stringMatching(/under 18 hours: intraday data is not supported/) });
    const fortnightly = Array.from({ length: 100 }, (_, i) => T0 + 14 * i * DAY);
    expect(spacingOf(fortnightly)).toEqual({ problem: expect.stringMatching(/10 to 20 days/) });
    const quarterly = Array.from({ length: 40 }, (_, i) => Date.UTC(2000, 3 * i, 1));
    expect(spacingOf(quarterly)).toEqual({ problem: expect.stringMatching(/over 45 days/) });
    expect(spacingOf([T0])).toEqual({ problem: expect.stringMatching(/at least 2/) });
  });

  it("reads a column in pieces as one, up to `length`", () => {
    const time = Float64Array.from(days(200, weekday));
    const pieces = [time.subarray(0, 7), time.subarray(7, 100), time.subarray(100)];
    expect(detectSpacing(pieces, time.length)).toEqual(detectSpacing([time], time.length));
    // Past `length` a piece's spare room (zeros) is not read.
    const padded = new Float64Array(300);
    padded.set(time);
    expect(detectSpacing([padded], time.length)).toEqual(detectSpacing([time], time.length));
  });
});
