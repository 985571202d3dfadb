import Papa from "papaparse";
import type { ApiErrorIssue } from "../../schema";
import { DATASET_MAX_BARS, DATASET_MAX_BYTES, DATASET_MIN_BARS, type Annualisation, type DatasetColumn } from "../../schema/dataset";
import { ApiError } from "../../lib/errors";
import { formatBarTime, isUtcMidnight, ohlcRangeProblem } from "./bars";
import type { EncodableBars } from "./codec";
import { detectSpacing } from "./spacing";

/** Stop reading after this many problems: the caller has enough to fix. */
export const MAX_CSV_ISSUES = 20;
/** Text is handed to the CSV parser in pieces of about this many characters, cut at line ends. */
const SEGMENT_CHARS = 1 << 20;
const MIN_PRICE = 1e-9;
const MAX_PRICE = 1e12;
/** Columns grow in blocks of this many rows: no doubling, no copy while reading. */
const BLOCK_ROWS = 1 << 16;
const FIRST_BLOCK_ROWS = 1 << 10;

const PRICE_COLUMNS = ["open", "high", "low", "close"] as const;
const KNOWN_COLUMNS = new Set<string>(["date", ...PRICE_COLUMNS, "volume"]);
/** Accepted and left out (Yahoo Finance and others export it). */
const IGNORED_COLUMNS = new Set(["adj close", "adjclose", "adj_close"]);
const EXPECTED_HEADER = "date,open,high,low,close[,volume] or date,close[,volume]";

export interface CsvLimits {
  maxBytes?: number;
  minBars?: number;
  maxBars?: number;
  /** Characters handed to papaparse at a time (cut at a line end outside quotes). */
  segmentChars?: number;
}

/** What a valid upload parsed into, ready to store. */
export interface ParsedCsv {
  bars: number;
  /** UTF-8 bytes read. */
  bytes: number;
  columns: DatasetColumn[];
  firstDate: string;
  lastDate: string;
  annualisation: Annualisation;
  data: EncodableBars;
}

/** A growing column: blocks start small (a small upload holds little) and double up to BLOCK_ROWS. */
class Blocks<T extends Float64Array | Uint32Array> {
  readonly blocks: T[] = [];
  private current: T | null = null;
  private pos = 0;

  constructor(private readonly make: (n: number) => T) {}

  push(value: number): void {
    if (this.current === null || this.pos === this.current.length) {
      this.current = this.make(this.current === null ? FIRST_BLOCK_ROWS : Math.min(this.current.length * 2, BLOCK_ROWS));
      this.blocks.push(this.current);
      this.pos = 0;
    }
    this.current[this.pos++] = value;
  }

  /** The first n values in one array. */
  toArray(n: number): T {
    const out = this.make(n);
    let at = 0;
    for (const block of this.blocks) {
      const take = Math.min(block.length, n - at);
      out.set(block.subarray(0, take), at);
      at += take;
    }
    return out;
  }
}

const f64 = () => new Blocks((n) => new Float64Array(n));

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * `YYYY-MM-DD` (UTC midnight) or an ISO 8601 date-time `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`
 * (a space may replace the T; no zone means UTC). Epoch ms, or null if it is not a real date.
 */
export function parseBarTime(text: string): number | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!)) return null;
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (h > 23 || mi > 59 || s > 59) return null;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  let time = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) return null;
    time -= (zone[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return time;
}

const show = (cell: string): string => JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}...` : cell);

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // 2 bytes below U+0800, 3 above; a surrogate pair (two units) is 4.
    if (c >= 0x80) bytes += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

const tooLarge = (max: number) => new ApiError("payload_too_large", `the CSV is over ${max} bytes`);

/**
 * Reads an uploaded CSV incrementally (text in, any piece size) and validates it row by row into
 * columnar blocks: the file's text is never held whole. Rules, each failure naming its line
 * (`line 17`; the header is line 1):
 * - a header `date,open,high,low,close[,volume]` or `date,close[,volume]`, names case-insensitive,
 *   in any order (`adj close` is accepted and ignored);
 * - every row has the header's number of fields; dates parse (see parseBarTime); prices are finite
 *   and positive; low <= min(open, close) and high >= max(open, close); volume is finite and >= 0;
 *   blank lines are skipped;
 * - no date appears twice; rows out of order are sorted;
 * - DATASET_MIN_BARS..DATASET_MAX_BARS bars, at most DATASET_MAX_BYTES bytes;
 * - bars daily, weekly or monthly, not intraday (see detectSpacing).
 * Problems are collected up to MAX_CSV_ISSUES and thrown as one 400 `validation_failed`.
 */
export class CsvBarsReader {
  private readonly issues: ApiErrorIssue[] = [];
  private bytes = 0;
  private started = false;
  private pendingCR = false;
  private carry = "";
  /** Line number of the first line in `carry`. */
  private line = 1;

  private header: { width: number; names: string; date: number; close: number; ohlc: [number, number, number] | null; volume: number } | null = null;
  private n = 0;
  private sorted = true;
  private dateOnly = true;
  private prevTime = Number.NEGATIVE_INFINITY;
  private prevLine = 0;
  private readonly time = f64();
  private readonly close = f64();
  private readonly open = f64();
  private readonly high = f64();
  private readonly low = f64();
  private readonly volume = f64();
  private readonly lines = new Blocks((n) => new Uint32Array(n));

  private readonly maxBytes: number;
  private readonly minBars: number;
  private readonly maxBars: number;
  private readonly segmentChars: number;

  /** The limits default to the API's; tests shrink them. */
  constructor(limits: CsvLimits = {}) {
    this.maxBytes = limits.maxBytes ?? DATASET_MAX_BYTES;
    this.minBars = limits.minBars ?? DATASET_MIN_BARS;
    this.maxBars = limits.maxBars ?? DATASET_MAX_BARS;
    this.segmentChars = limits.segmentChars ?? SEGMENT_CHARS;
  }

  /** Counts bytes read from the wire (call before write()); throws 413 past the limit. */
  countBytes(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.maxBytes) throw tooLarge(this.maxBytes);
  }

  /** The next piece of text. Throws as soon as the CSV is known to be unusable. */
  write(text: string): void {
    if (text === "") return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCR) text = `\r${text}`;
    // A CR at the end may be the first half of a CRLF: keep it until the next piece.
    this.pendingCR = text.endsWith("\r");
    if (this.pendingCR) text = text.slice(0, -1);
    if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
    this.carry += text;
    if (this.carry.length >= this.segmentChars) this.parseCarry(false);
  }

  /** The end of the text: the parsed bars, or a 400 naming what is wrong. */
  end(): ParsedCsv {
    if (this.pendingCR) this.carry += "\n";
    this.pendingCR = false;
    this.parseCarry(true);
    if (!this.header && this.issues.length === 0) this.issue("line 1", `no header: the CSV is empty; expected ${EXPECTED_HEADER}`);
    if (this.issues.length === 0 && this.n < this.minBars) {
      this.issue("csv", `${this.n} bar${this.n === 1 ? "" : "s"}: at least ${this.minBars} are needed`);
    }
    this.throwIfIssues();
    const data = this.sorted ? this.columnsInOrder() : this.columnsSorted();
    this.throwIfIssues();
    const spacing = detectSpacing(data.time, this.n);
    if ("problem" in spacing) this.fatal("csv", spacing.problem);
    const header = this.header!;
    const columns: DatasetColumn[] = header.ohlc ? ["open", "high", "low", "close"] : ["close"];
    if (header.volume >= 0) columns.push("volume");
    const first = data.time[0]![0]!;
    // In order, the last row read is the last bar; sorted, the time column is one array.
    const last = this.sorted ? this.prevTime : data.time[0]![this.n - 1]!;
    return {
      bars: this.n,
      bytes: this.bytes,
      columns,
      firstDate: formatBarTime(first, this.dateOnly),
      lastDate: formatBarTime(last, this.dateOnly),
      annualisation: spacing.annualisation,
      data,
    };
  }

  private issue(path: string, message: string): void {
    this.issues.push({ path, message });
    if (this.issues.length >= MAX_CSV_ISSUES) {
      this.issues.push({ path: "csv", message: `stopped reading after ${MAX_CSV_ISSUES} problems` });
      this.throwIfIssues();
    }
  }

  private fatal(path: string, message: string): never {
    this.issues.push({ path, message });
    this.throwIfIssues();
    throw new Error("unreachable");
  }

  private throwIfIssues(): void {
    if (this.issues.length > 0) throw new ApiError("validation_failed", "the CSV is invalid", this.issues.slice());
  }

  /** Parses the complete lines of `carry` (all of it at the end), keeping quoted fields whole. */
  private parseCarry(final: boolean): void {
    const carry = this.carry;
    let cut: number;
    if (final) {
      if (carry === "") return;
      cut = carry.endsWith("\n") ? carry.length - 1 : carry.length;
    } else {
      cut = safeCut(carry);
      // A segment's worth of text with no line end outside quotes is no bar line: stop at once
      // rather than rescan a growing carry on every write.
      if (cut < 0) this.fatal(`line ${this.line}`, `no line end in ${this.segmentChars} characters (an unclosed quote?)`);
    }
    this.carry = final ? "" : carry.slice(cut + 1);
    this.parseSegment(carry.slice(0, cut));
  }

  private parseSegment(segment: string): void {
    if (segment === "") {
      this.line += 1;
      return;
    }
    const result = Papa.parse<string[]>(segment, {
      delimiter: ",",
      newline: "\n",
      quoteChar: '"',
      escapeChar: '"',
      header: false,
      dynamicTyping: false,
      skipEmptyLines: false,
    });
    const quoteErrors = new Map<number, string>();
    for (const e of result.errors) if (e.row !== undefined && !quoteErrors.has(e.row)) quoteErrors.set(e.row, e.message);
    const multiline = segment.includes('"');
    let line = this.line;
    for (const [r, cells] of result.data.entries()) {
      const quoteError = quoteErrors.get(r);
      if (quoteError !== undefined) this.issue(`line ${line}`, `malformed quotes: ${quoteError}`);
      else this.row(cells, line);
      // A quoted field may hold line breaks: later rows start further down.
      if (multiline) for (const cell of cells) for (let i = cell.indexOf("\n"); i >= 0; i = cell.indexOf("\n", i + 1)) line++;
      line++;
    }
    this.line = line;
  }

  private row(cells: string[], line: number): void {
    if (cells.length === 1 && cells[0]!.trim() === "") return;
    const header = this.header;
    if (!header) return this.readHeader(cells, line);
    if (cells.length !== header.width) {
      return this.issue(`line ${line}`, `${cells.length} field${cells.length === 1 ? "" : "s"}, expected ${header.width} (${header.names})`);
    }
    const dateCell = cells[header.date]!.trim();
    const time = parseBarTime(dateCell);
    if (time === null) return this.issue(`line ${line}`, `date ${show(dateCell)} is not a date: expected YYYY-MM-DD or an ISO 8601 date-time`);
    const price = (index: number, name: string): number => {
      const cell = cells[index]!.trim();
      const value = Number(cell);
      if (cell === "") this.issue(`line ${line}`, `${name} is empty`);
      else if (!Number.isFinite(value)) this.issue(`line ${line}`, `${name} ${show(cell)} is not a finite number`);
      else if (value <= 0) this.issue(`line ${line}`, `${name} must be positive, got ${cell}`);
      // Prices so small or large that ratios of them overflow are no market's: refuse them here.
      else if (value < MIN_PRICE || value > MAX_PRICE) this.issue(`line ${line}`, `${name} ${cell} is outside ${MIN_PRICE}..${MAX_PRICE}`);
      else return value;
      return Number.NaN;
    };
    const close = price(header.close, "close");
    const ohlc = header.ohlc ? [price(header.ohlc[0], "open"), price(header.ohlc[1], "high"), price(header.ohlc[2], "low")] : null;
    let volume = 0;
    if (header.volume >= 0) {
      const cell = cells[header.volume]!.trim();
      volume = Number(cell);
      if (cell === "") this.issue(`line ${line}`, "volume is empty");
      else if (!Number.isFinite(volume)) this.issue(`line ${line}`, `volume ${show(cell)} is not a finite number`);
      else if (volume < 0) this.issue(`line ${line}`, `volume must be zero or more, got ${cell}`);
    }
    if (Number.isNaN(close) || ohlc?.some(Number.isNaN) || !Number.isFinite(volume) || volume < 0) return;
    if (ohlc) {
      const range = ohlcRangeProblem(ohlc[0]!, ohlc[1]!, ohlc[2]!, close);
      if (range) return this.issue(`line ${line}`, range);
    }

    this.n++;
    if (this.n > this.maxBars) this.fatal(`line ${line}`, `more than ${this.maxBars} bars`);
    if (time === this.prevTime) this.issue(`line ${line}`, `duplicate date ${show(dateCell)} (also line ${this.prevLine})`);
    else if (time < this.prevTime) this.sorted = false;
    this.prevTime = time;
    this.prevLine = line;
    if (this.issues.length > 0) return; // the upload fails: count and check the rest, keep nothing
    if (this.dateOnly && !isUtcMidnight(time)) this.dateOnly = false;
    this.time.push(time);
    this.close.push(close);
    if (ohlc) {
      this.open.push(ohlc[0]!);
      this.high.push(ohlc[1]!);
      this.low.push(ohlc[2]!);
    }
    if (header.volume >= 0) this.volume.push(volume);
    this.lines.push(line);
  }

  private readHeader(cells: string[], line: number): void {
    if (cells.some((c) => parseBarTime(c.trim()) !== null)) this.fatal(`line ${line}`, `the first line must be the header (${EXPECTED_HEADER}), not data`);
    const at = new Map<string, number>();
    for (const [i, cell] of cells.entries()) {
      const name = cell.trim().toLowerCase();
      if (IGNORED_COLUMNS.has(name)) continue;
      if (!KNOWN_COLUMNS.has(name)) this.issue(`line ${line}`, `unknown column ${show(cell.trim())}; expected ${EXPECTED_HEADER}`);
      else if (at.has(name)) this.issue(`line ${line}`, `column "${name}" appears twice`);
      else at.set(name, i);
    }
    for (const name of ["date", "close"]) if (!at.has(name)) this.issue(`line ${line}`, `no "${name}" column; expected ${EXPECTED_HEADER}`);
    const some = (["open", "high", "low"] as const).filter((c) => at.has(c));
    if (some.length > 0 && some.length < 3) {
      this.issue(`line ${line}`, `has ${some.join(", ")} but not ${["open", "high", "low"].filter((c) => !at.has(c)).join(", ")}: give open, high and low together, or none`);
    }
    this.throwIfIssues();
    this.header = {
      width: cells.length,
      names: cells.map((c) => c.trim()).join(","),
      date: at.get("date")!,
      close: at.get("close")!,
      ohlc: some.length === 3 ? [at.get("open")!, at.get("high")!, at.get("low")!] : null,
      volume: at.get("volume") ?? -1,
    };
  }

  private columnsInOrder(): EncodableBars {
    const header = this.header!;
    return {
      length: this.n,
      time: this.time.blocks,
      close: this.close.blocks,
      ohlc: header.ohlc ? { open: this.open.blocks, high: this.high.blocks, low: this.low.blocks } : null,
      volume: header.volume >= 0 ? this.volume.blocks : null,
    };
  }

  /** Rows out of order: sort by date (stable), then name every date that appears twice. */
  private columnsSorted(): EncodableBars {
    const n = this.n;
    const time = this.time.toArray(n);
    const lines = this.lines.toArray(n);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => time[a]! - time[b]! || a - b);
    for (let k = 1; k < n; k++) {
      const [a, b] = [order[k - 1]!, order[k]!];
      if (time[a] === time[b]) this.issue(`line ${lines[b]}`, `duplicate date ${formatBarTime(time[b]!, this.dateOnly)} (also line ${lines[a]})`);
    }
    this.throwIfIssues();
    const permuted = (column: Blocks<Float64Array>): Float64Array[] => {
      const values = column === this.time ? time : column.toArray(n);
      const out = new Float64Array(n);
      for (let k = 0; k < n; k++) out[k] = values[order[k]!]!;
      column.blocks.length = 0;
      return [out];
    };
    const header = this.header!;
    return {
      length: n,
      time: permuted(this.time),
      close: permuted(this.close),
      ohlc: header.ohlc ? { open: permuted(this.open), high: permuted(this.high), low: permuted(this.low) } : null,
      volume: header.volume >= 0 ? permuted(this.volume) : null,
    };
  }
}

/** The last line end of `text` outside quotes (text starts outside quotes), or -1. */
function safeCut(text: string): number {
  if (!text.includes('"')) return text.lastIndexOf("\n");
  let quoted = false;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) last = i;
  }
  return last;
}

/** Validates a CSV held as a string (the tRPC input). */
export function parseCsvText(text: string, limits?: CsvLimits): ParsedCsv {
  const max = limits?.maxBytes ?? DATASET_MAX_BYTES;
  // UTF-8 is at least as long as UTF-16 code units and at most 3x: count exactly only in between.
  const bytes = text.length > max ? max + 1 : text.length * 3 <= max ? text.length : utf8Length(text);
  const reader = new CsvBarsReader(limits);
  reader.countBytes(bytes);
  for (let at = 0; at < text.length; at += SEGMENT_CHARS) reader.write(text.slice(at, at + SEGMENT_CHARS));
  return reader.end();
}

/** Validates a CSV as it streams in (the REST body); stops reading at the first fatal problem. */
export async function parseCsvStream(body: ReadableStream<Uint8Array> | null, limits?: CsvLimits): Promise<ParsedCsv> {
  const reader = new CsvBarsReader(limits);
  if (!body) return reader.end();
  const input = body.getReader();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  try {
    for (;;) {
      const { done, value } = await input.read();
      if (done) break;
      reader.countBytes(value.byteLength);
      reader.write(decode(decoder, value));
    }
    reader.write(decode(decoder));
  } catch (err) {
    await input.cancel().catch(() => undefined);
    throw err;
  } finally {
    input.releaseLock();
  }
  return reader.end();
}

function decode(decoder: TextDecoder, bytes?: Uint8Array): string {
  try {
    return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
  } catch {
    throw new ApiError("validation_failed", "the CSV is invalid", [{ path: "csv", message: "not UTF-8 text" }]);
  }
}
