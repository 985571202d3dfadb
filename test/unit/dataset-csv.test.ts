import { describe, expect, it } from "vitest";
import type { ApiErrorIssue } from "../../schema";
import { CsvBarsReader, parseBarTime, parseCsvStream, parseCsvText, utf8Length, type CsvLimits, type ParsedCsv } from "../../worker/datasets/csv";
import { ApiError } from "../../lib/errors";

const DAY = 86_400_000;
const T0 = Date.UTC(2020, 0, 1);
const dateOf = (i: number) => new Date(T0 + i * DAY).toISOString().slice(0, 10);

/** n daily OHLCV rows from 2020-01-01; row i (0-based) is on line i + 2. */
function ohlcvRows(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${dateOf(i)},${100 + i},${101 + i},${99 + i},${100.5 + i},${1000 + i}`);
}
const HEADER = "date,open,high,low,close,volume";
const csvOf = (rows: string[], header = HEADER) => `${header}\n${rows.join("\n")}\n`;

/** The 400's details of a CSV that must fail. */
function issuesOf(csv: string, limits?: CsvLimits): ApiErrorIssue[] {
  try {
    parseCsvText(csv, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("validation_failed");
    expect((err as ApiError).status).toBe(400);
    return (err as ApiError).details ?? [];
  }
  throw new Error("expected the CSV to be rejected");
}

/** A column's values, whatever pieces it is stored in. */
const column = (pieces: readonly Float64Array[], n: number): number[] => {
  const out: number[] = [];
  for (const p of pieces) out.push(...p.subarray(0, Math.min(p.length, n - out.length)));
  return out;
};

const stream = (chunks: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      c.close();
    },
  });

describe("upload CSV: rejects each broken rule, naming the line", () => {
  const rows = ohlcvRows(60);
  /** Replaces row i (line i + 2). */
  const withRow = (i: number, row: string, header = HEADER) => csvOf(rows.map((r, k) => (k === i ? row : r)), header);

  it.each([
    ["an empty body", "", "line 1", /no header/],
    ["no header", csvOf(rows.slice(1), rows[0]), "line 1", /the first line must be the header/],
    ["an unknown column", csvOf(rows.map((r) => `${r},x`), `${HEADER},foo`), "line 1", /unknown column "foo"/],
    ["a duplicate column", csvOf(rows.map((r) => `${r},1`), `${HEADER},Close`), "line 1", /"close" appears twice/],
    ["no close column", csvOf(rows.map((r) => r.split(",").slice(0, 2).join(",")), "date,open"), "line 1", /no "close" column/],
    ["no date column", csvOf(rows.map((r) => r.split(",")[4]!), "close"), "line 1", /no "date" column/],
    ["open/high without low", csvOf(rows.map((r) => r.split(",").slice(0, 3).concat(r.split(",")[4]!).join(",")), "date,open,high,close"), "line 1", /but not low/],
    ["a short row", withRow(15, "2020-01-16,1,2,0.5,1.5"), "line 17", /5 fields, expected 6/],
    ["a long row", withRow(15, "2020-01-16,1,2,0.5,1.5,10,11"), "line 17", /7 fields, expected 6/],
    ["an impossible date", withRow(15, "2021-02-29,1,2,0.5,1.5,10"), "line 17", /date "2021-02-29" is not a date/],
    ["a US-style date", withRow(15, "01/16/2020,1,2,0.5,1.5,10"), "line 17", /date "01\/16\/2020" is not a date/],
    ["a non-number", withRow(15, "2020-01-16,1,abc,0.5,1.5,10"), "line 17", /high "abc" is not a finite number/],
    ["an empty price", withRow(15, "2020-01-16,1,2,,1.5,10"), "line 17", /low is empty/],
    ["a zero close", withRow(15, "2020-01-16,1,2,0.5,0,10"), "line 17", /close must be positive, got 0/],
    ["a negative open", withRow(15, "2020-01-16,-1,2,0.5,1,10"), "line 17", /open must be positive, got -1/],
    ["an infinite price", withRow(15, "2020-01-16,1,Infinity,0.5,1,10"), "line 17", /high "Infinity" is not a finite number/],
    ["a negative volume", withRow(15, "2020-01-16,1,2,0.5,1.5,-3"), "line 17", /volume must be zero or more, got -3/],
    ["a repeated date", withRow(15, `${dateOf(14)},1,2,0.5,1.5,10`), "line 17", /duplicate date "2020-01-15" \(also line 16\)/],
    ["malformed quotes", withRow(15, '2020-01-16,"1,2,0.5,1.5,10'), "line 17", /malformed quotes/],
    ["a low above the open", withRow(15, "2020-01-16,1,2,1.2,1.5,10"), "line 17", /low 1.2 is above min\(open, close\) = 1/],
    ["a low above the close", withRow(15, "2020-01-16,1.5,2,1.2,1,10"), "line 17", /low 1.2 is above min\(open, close\) = 1/],
    ["a high below the close", withRow(15, "2020-01-16,1,1.4,0.5,1.5,10"), "line 17", /high 1.4 is below max\(open, close\) = 1.5/],
    ["a high below the open", withRow(15, "2020-01-16,1.5,1.4,0.5,1,10"), "line 17", /high 1.4 is below max\(open, close\) = 1.5/],
  ])("%s", (_, csv, path, message) => {
    const issues = issuesOf(csv);
    expect(issues[0]).toMatchObject({ path });
    expect(issues[0]!.message).toMatch(message);
  });

  it("names a date repeated far apart in an unsorted file, after sorting", () => {
    const shuffled = [...rows].reverse();
    shuffled[40] = `${dateOf(3)},1,2,0.5,1.5,10`; // line 42 repeats the date of the row now on line 58
    const issues = issuesOf(csvOf(shuffled));
    expect(issues).toEqual([{ path: "line 58", message: 'duplicate date 2020-01-04 (also line 42)' }]);
  });

  it("needs at least 50 bars", () => {
    expect(issuesOf(csvOf(ohlcvRows(49)))).toEqual([{ path: "csv", message: "49 bars: at least 50 are needed" }]);
    expect(parseCsvText(csvOf(ohlcvRows(50))).bars).toBe(50);
  });

  it("refuses more bars than the limit, naming the first line over it", () => {
    expect(issuesOf(csvOf(ohlcvRows(60)), { maxBars: 55 })).toEqual([{ path: "line 57", message: "more than 55 bars" }]);
  });

  it("refuses more bytes than the limit with 413", async () => {
    const csv = csvOf(ohlcvRows(60));
    const bytes = new TextEncoder().encode(csv).length;
    expect(() => parseCsvText(csv, { maxBytes: bytes - 1 })).toThrow(expect.objectContaining({ code: "payload_too_large", status: 413 }));
    await expect(parseCsvStream(stream([csv]), { maxBytes: bytes - 1 })).rejects.toMatchObject({ code: "payload_too_large" });
    expect(parseCsvText(csv, { maxBytes: bytes }).bytes).toBe(bytes);
  });

  it("lists several problems at once, and stops after 20", () => {
    const two = issuesOf(withRow(3, "2020-01-04,1,2,0.5,x,10").replace("2020-01-11,", "2020-13-11,"));
    expect(two.map((i) => i.path)).toEqual(["line 5", "line 12"]);
    const many = issuesOf(csvOf(rows.map((r) => r.replace(/,[^,]*$/, ",-1"))));
    expect(many).toHaveLength(21);
    expect(many.at(-1)).toEqual({ path: "csv", message: "stopped reading after 20 problems" });
  });

  it("rejects bytes that are not UTF-8", async () => {
    const body = stream([`${HEADER}\n`, new Uint8Array([0xff, 0xfe, 0x41])]);
    await expect(parseCsvStream(body)).rejects.toMatchObject({ code: "validation_failed", details: [{ path: "csv", message: "not UTF-8 text" }] });
  });
});

describe("upload CSV: accepts", () => {
  const check = (parsed: ParsedCsv, n: number) => {
    expect(parsed.bars).toBe(n);
    expect(column(parsed.data.time, n)).toEqual(Array.from({ length: n }, (_, i) => T0 + i * DAY));
    expect(column(parsed.data.close, n)).toEqual(Array.from({ length: n }, (_, i) => 100.5 + i));
  };

  it("OHLCV: every column, first and last date, bytes", () => {
    const csv = csvOf(ohlcvRows(60));
    const parsed = parseCsvText(csv);
    check(parsed, 60);
    expect(parsed.columns).toEqual(["open", "high", "low", "close", "volume"]);
    expect(column(parsed.data.ohlc!.open, 60)[59]).toBe(159);
    expect(column(parsed.data.ohlc!.high, 60)[0]).toBe(101);
    expect(column(parsed.data.ohlc!.low, 60)[1]).toBe(100);
    expect(column(parsed.data.volume!, 60)[2]).toBe(1002);
    expect([parsed.firstDate, parsed.lastDate]).toEqual(["2020-01-01", "2020-02-29"]);
    expect(parsed.bytes).toBe(csv.length);
  });

  it("close only (date,close), header names in any case and order, CRLF, a BOM, blank lines, adj close ignored, quoted cells", () => {
    const rows = ohlcvRows(60).map((r) => r.split(","));
    const body = rows.map(([d, , , , c], i) => (i === 10 ? `"${c}",${d},9` : i === 20 ? `\r\n${c},"${d}",9` : `${c},${d},9`)).join("\r\n");
    const parsed = parseCsvText(`\ufeffCLOSE,Date,Adj Close\r\n\r\n${body}\r\n\r\n`);
    check(parsed, 60);
    expect(parsed.columns).toEqual(["close"]);
    expect(parsed.data.ohlc).toBeNull();
    expect(parsed.data.volume).toBeNull();
  });

  it("a volume column with close only", () => {
    const parsed = parseCsvText(csvOf(ohlcvRows(60).map((r) => { const c = r.split(","); return `${c[0]},${c[4]},${c[5]}`; }), "date,close,volume"));
    expect(parsed.columns).toEqual(["close", "volume"]);
    expect(column(parsed.data.volume!, 60)[0]).toBe(1000);
  });

  it("rows in any order: sorts them by date", () => {
    const rows = ohlcvRows(60);
    const shuffled = rows.map((r, i) => ({ r, k: (i * 37) % 61 })).sort((a, b) => a.k - b.k).map((x) => x.r);
    expect(shuffled).not.toEqual(rows);
    const parsed = parseCsvText(csvOf(shuffled));
    check(parsed, 60);
    expect(column(parsed.data.volume!, 60)).toEqual(Array.from({ length: 60 }, (_, i) => 1000 + i));
    expect([parsed.firstDate, parsed.lastDate]).toEqual(["2020-01-01", "2020-02-29"]);
  });

  it("date-times: UTC, offsets, a space for the T; first/last as ISO timestamps", () => {
    const rows = Array.from({ length: 60 }, (_, i) => `${dateOf(i)}T09:${String(i).padStart(2, "0")}:00Z,1.5`);
    rows[1] = "2020-01-02 10:01:00+01:00,1.5";
    rows[2] = "2020-01-03T04:02-05:00,1.5";
    const parsed = parseCsvText(csvOf(rows, "date,close"));
    expect(parsed.bars).toBe(60);
    expect(column(parsed.data.time, 60).slice(0, 3)).toEqual([0, 1, 2].map((i) => Date.UTC(2020, 0, 1 + i, 9, i)));
    expect([parsed.firstDate, parsed.lastDate]).toEqual(["2020-01-01T09:00:00.000Z", "2020-02-29T09:59:00.000Z"]);
  });

  it("names the spacing it detected, and refuses intraday bars", () => {
    expect(parseCsvText(csvOf(ohlcvRows(60))).annualisation).toEqual({ spacing: "daily-calendar", barsPerYear: 365 });
    const weekly = Array.from({ length: 60 }, (_, i) => `${new Date(T0 + 7 * i * DAY).toISOString().slice(0, 10)},1.5`);
    expect(parseCsvText(csvOf(weekly, "date,close")).annualisation).toEqual({ spacing: "weekly", barsPerYear: 52 });
    const minutes = Array.from({ length: 60 }, (_, i) => `2020-01-02T09:${String(i).padStart(2, "0")}:00Z,1.5`);
    expect(issuesOf(csvOf(minutes, "date,close"))).toEqual([{ path: "csv", message: expect.stringMatching(/under 18 hours: intraday data is not supported/) }]);
  });

  it("the same result whatever the pieces the text arrives in, across segment cuts", async () => {
    const rows = ohlcvRows(300);
    rows[100] = `"${rows[100]!.replace(/,/g, '","')}"`; // a fully quoted row
    const csv = csvOf(rows).replace(/\n/g, "\r\n");
    const whole = parseCsvText(csv);
    check(whole, 300);
    for (const [piece, segmentChars] of [
      [1, 64],
      [7, 100],
      [4096, 1000],
    ] as const) {
      const reader = new CsvBarsReader({ segmentChars });
      for (let at = 0; at < csv.length; at += piece) reader.write(csv.slice(at, at + piece));
      const parsed = reader.end();
      check(parsed, 300);
      expect(column(parsed.data.volume!, 300)).toEqual(column(whole.data.volume!, 300));
    }
    const streamed = await parseCsvStream(stream(csv.match(/[\s\S]{1,333}/g)!));
    check(streamed, 300);
  });

  it("counts lines right past blank lines and quoted line breaks, in every segment", () => {
    const rows = ohlcvRows(200);
    rows[10] = `${dateOf(10)},1,2,0.5,1.5,"10"`;
    rows[50] = "";
    rows[51] = `${dateOf(51)},1,2,0.5,1.5,"1\n0"`; // a line break inside quotes: the row spans lines 53-54
    rows[150] = `${dateOf(150)},1,2,0.5,oops,10`; // line 152 + 1 for the quoted break = 153
    for (const segmentChars of [50, 1 << 20]) {
      const issues = issuesOf(csvOf(rows), { segmentChars });
      expect(issues).toEqual([
        { path: "line 53", message: 'volume "1\\n0" is not a finite number' },
        { path: "line 153", message: 'close "oops" is not a finite number' },
      ]);
    }
  });
});

describe("parseBarTime", () => {
  it.each([
    ["2020-01-02", Date.UTC(2020, 0, 2)],
    ["2020-02-29", Date.UTC(2020, 1, 29)],
    ["2020-01-02T03:04", Date.UTC(2020, 0, 2, 3, 4)],
    ["2020-01-02T03:04:05.678Z", Date.UTC(2020, 0, 2, 3, 4, 5, 678)],
    ["2020-01-02 03:04:05+0130", Date.UTC(2020, 0, 2, 1, 34, 5)],
    ["2020-01-02T03:04:05-02", Date.UTC(2020, 0, 2, 5, 4, 5)],
  ])("%s", (text, time) => expect(parseBarTime(text)).toBe(time));

  it.each(["", "2020-1-2", "2019-02-29", "2020-04-31", "2020-13-01", "0099-01-01", "2020-01-02T24:00", "2020-01-02T10:60", "20200102", "2020-01-02Z"])(
    "rejects %j",
    (text) => expect(parseBarTime(text)).toBeNull(),
  );
});

it("utf8Length", () => {
  for (const s of ["", "abc", "é", "€", "😀", "a€😀é"]) expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
});

describe("a line that never ends", () => {
  it("is refused as soon as one segment holds no line end, naming its line", async () => {
    const pieces = ["date,close\n2020-01-01,1\n", ...Array.from({ length: 50 }, () => `"${"x".repeat(999)}`)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const error = await parseCsvStream(body, { segmentChars: 4096 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toEqual([{ path: "line 3", message: expect.stringContaining("no line end") }]);
    // It stopped reading: most of the body was never pulled.
    expect(pieces.length).toBeGreaterThan(40);
  });
});

describe("prices", () => {
  it("must lie within 1e-9 .. 1e12, so returns cannot overflow", () => {
    const csv = `date,close\n${Array.from({ length: 60 }, (_, i) => `${new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10)},${i === 10 ? "5e-324" : i === 20 ? "1e200" : "1"}`).join("\n")}\n`;
    const error = (() => {
      try {
        parseCsvText(csv);
      } catch (err) {
        return err;
      }
    })();
    expect((error as ApiError).details?.map((d) => d.path)).toEqual(["line 12", "line 22"]);
  });
});
