import { describe, expect, it } from "vitest";
import { decodeBars, encodeBars, encodedSize, FLAG_OHLC, FLAG_VOLUME, HEADER_BYTES, type EncodableBars } from "../../worker/datasets/codec";
import { UpstreamError } from "../../lib/errors";

const concat = (parts: Uint8Array[]): ArrayBuffer => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
};

/** Columns of n bars split into pieces of `piece` (the last padded, as the parser's blocks are). */
function pieces(values: number[], piece: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < values.length; i += piece) {
    const block = new Float64Array(piece).fill(-1);
    block.set(values.slice(i, i + piece));
    out.push(block);
  }
  return out;
}

const n = 10;
const time = Array.from({ length: n }, (_, i) => Date.UTC(2020, 0, 1 + i));
const close = time.map((_, i) => 100 + i);

describe("the stored bars format", () => {
  it("round-trips OHLCV from padded blocks", () => {
    const bars: EncodableBars = {
      length: n,
      time: pieces(time, 4),
      close: pieces(close, 4),
      ohlc: { open: pieces(close.map((c) => c - 1), 3), high: pieces(close.map((c) => c + 2), 16), low: pieces(close.map((c) => c - 2), 10) },
      volume: pieces(close.map((c) => c * 10), 7),
    };
    const { size, parts } = encodeBars(bars);
    expect(size).toBe(HEADER_BYTES + 6 * 8 * n);
    expect(size).toBe(encodedSize(n, FLAG_OHLC | FLAG_VOLUME));
    const buffer = concat(parts);
    expect(buffer.byteLength).toBe(size);
    const decoded = decodeBars(buffer);
    expect(decoded.length).toBe(n);
    expect(Array.from(decoded.time)).toEqual(time);
    expect(Array.from(decoded.close)).toEqual(close);
    expect(Array.from(decoded.open)).toEqual(close.map((c) => c - 1));
    expect(Array.from(decoded.high)).toEqual(close.map((c) => c + 2));
    expect(Array.from(decoded.low)).toEqual(close.map((c) => c - 2));
    expect(Array.from(decoded.volume)).toEqual(close.map((c) => c * 10));
    // Views on the one buffer: no copy.
    expect(decoded.close.buffer).toBe(buffer);
  });

  it("close only: 16 bytes a bar; open = high = low = close, volume zeros", () => {
    const { size, parts } = encodeBars({ length: n, time: [new Float64Array(time)], close: [new Float64Array(close)], ohlc: null, volume: null });
    expect(size).toBe(HEADER_BYTES + 16 * n);
    const decoded = decodeBars(concat(parts));
    expect(decoded.open).toBe(decoded.close);
    expect(decoded.high).toBe(decoded.close);
    expect(Array.from(decoded.volume)).toEqual(new Array(n).fill(0));
  });

  it("a column too short is a bug, caught when encoding", () => {
    expect(() => encodeBars({ length: n, time: [new Float64Array(n - 1)], close: [new Float64Array(n)], ohlc: null, volume: null })).toThrow(/9 values/);
  });

  it("anything malformed is an UpstreamError", () => {
    const good = concat(encodeBars({ length: n, time: [new Float64Array(time)], close: [new Float64Array(close)], ohlc: null, volume: null }).parts);
    expect(() => decodeBars(new ArrayBuffer(8))).toThrow(UpstreamError);
    expect(() => decodeBars(good.slice(0, good.byteLength - 8))).toThrow(UpstreamError);
    const badMagic = good.slice(0);
    new Uint8Array(badMagic)[0] = 0x58;
    expect(() => decodeBars(badMagic)).toThrow(/unknown format/);
    const badFlags = good.slice(0);
    new DataView(badFlags).setUint32(4, 8, true);
    expect(() => decodeBars(badFlags)).toThrow(/unknown flags/);
  });
});
