import type { Bars } from "../engine/types";
import { ParamInvalid, UpstreamError } from "../../lib/errors";
import { annualisationOf } from "./spacing";

/**
 * The stored form of an uploaded dataset: its columns as little-endian Float64 arrays behind a
 * 16-byte header, so loading is one R2 read and typed-array views on it (no parsing, no copy).
 *
 *   bytes 0..3   "GOB1"
 *   bytes 4..7   uint32 flags: 1 = has open/high/low, 2 = has volume
 *   bytes 8..11  uint32 bar count n
 *   bytes 12..15 zero
 *   then n Float64 each: time (epoch ms), close, [open, high, low], [volume]
 *
 * Close-only data costs 16 bytes a bar, full OHLCV 48.
 */
export const BARS_FORMAT = "GOB1";
export const HEADER_BYTES = 16;
export const FLAG_OHLC = 1;
export const FLAG_VOLUME = 2;

/** A column as consecutive pieces (the upload parser builds columns in blocks). */
export type ColumnPieces = readonly Float64Array[];

export interface EncodableBars {
  length: number;
  time: ColumnPieces;
  close: ColumnPieces;
  ohlc: { open: ColumnPieces; high: ColumnPieces; low: ColumnPieces } | null;
  volume: ColumnPieces | null;
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

export const flagsOf = (bars: Pick<EncodableBars, "ohlc" | "volume">): number => (bars.ohlc ? FLAG_OHLC : 0) | (bars.volume ? FLAG_VOLUME : 0);

export const columnCount = (flags: number): number => 2 + (flags & FLAG_OHLC ? 3 : 0) + (flags & FLAG_VOLUME ? 1 : 0);

export const encodedSize = (length: number, flags: number): number => HEADER_BYTES + columnCount(flags) * length * 8;

/** The object's bytes as a sequence of views (no copy of the columns): header, then each column. */
export function encodeBars(bars: EncodableBars): { size: number; parts: Uint8Array[] } {
  if (!LITTLE_ENDIAN) throw new Error("the bars format is little-endian");
  const flags = flagsOf(bars);
  const header = new Uint8Array(HEADER_BYTES);
  header.set([...BARS_FORMAT].map((ch) => ch.charCodeAt(0)));
  const view = new DataView(header.buffer);
  view.setUint32(4, flags, true);
  view.setUint32(8, bars.length, true);
  const columns: ColumnPieces[] = [bars.time, bars.close];
  if (bars.ohlc) columns.push(bars.ohlc.open, bars.ohlc.high, bars.ohlc.low);
  if (bars.volume) columns.push(bars.volume);
  const parts: Uint8Array[] = [header];
  for (const pieces of columns) {
    let left = bars.length;
    for (const piece of pieces) {
      const take = Math.min(left, piece.length);
      if (take > 0) parts.push(new Uint8Array(piece.buffer, piece.byteOffset, take * 8));
      left -= take;
    }
    if (left !== 0) throw new Error(`a column has ${bars.length - left} values, expected ${bars.length}`);
  }
  return { size: encodedSize(bars.length, flags), parts };
}

/**
 * Bytes that decodeBars of the object whose first HEADER_BYTES are `header` holds: the object
 * itself, plus a zero volume column when it has none. Lets a load count its memory before reading.
 */
export function decodedBytes(header: ArrayBuffer): number {
  const { flags, n } = readHeader(header);
  return encodedSize(n, flags) + (flags & FLAG_VOLUME ? 0 : n * 8);
}

function readHeader(buffer: ArrayBuffer): { flags: number; n: number } {
  if (buffer.byteLength < HEADER_BYTES) throw new UpstreamError(`stored bars: ${buffer.byteLength} bytes, shorter than the header`);
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== BARS_FORMAT) throw new UpstreamError(`stored bars: unknown format "${magic}"`);
  const flags = view.getUint32(4, true);
  if ((flags & ~(FLAG_OHLC | FLAG_VOLUME)) !== 0) throw new UpstreamError(`stored bars: unknown flags ${flags}`);
  return { flags, n: view.getUint32(8, true) };
}

/**
 * Views on a stored object, with its spacing detected. Anything malformed is an UpstreamError: the
 * store is broken, not the job; a spacing no strategy runs on (intraday) is ParamInvalid.
 */
export function decodeBars(buffer: ArrayBuffer): Bars {
  if (!LITTLE_ENDIAN) throw new Error("the bars format is little-endian");
  const { flags, n } = readHeader(buffer);
  if (buffer.byteLength !== encodedSize(n, flags)) {
    throw new UpstreamError(`stored bars: ${buffer.byteLength} bytes, expected ${encodedSize(n, flags)} for ${n} bars`);
  }
  let offset = HEADER_BYTES;
  const next = (): Float64Array => {
    const column = new Float64Array(buffer, offset, n);
    offset += n * 8;
    return column;
  };
  const time = next();
  const close = next();
  const [open, high, low] = flags & FLAG_OHLC ? [next(), next(), next()] : [close, close, close];
  const volume = flags & FLAG_VOLUME ? next() : new Float64Array(n);
  // Uploads are checked for this; an older object may not have been: the data decides, no retry helps.
  const annualisation = annualisationOf(time, (problem) => new ParamInvalid(`this dataset cannot be backtested: ${problem}`));
  return { length: n, time, open, high, low, close, volume, annualisation };
}
