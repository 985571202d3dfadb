import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_HEATMAP_BINS, type HeatmapAgg, type HeatmapCell, type ParamAxis, type ParamValue } from "../../schema";
import { createGrid } from "../../lib/grid";
import { HeatmapCells, planHeatmap } from "../../lib/heatmap";
import { decodeTicket, encodeTicket, newTicketSecret, ticketHash } from "../../lib/live-ticket";
import { liveDelay } from "../../durable-objects/live-hub";

/** The heatmap by definition: each task's x and y value, binned by position, others free or equal to `at`. */
function naive(params: Record<string, ParamAxis>, scores: Map<number, number>, x: string, y: string, agg: HeatmapAgg, at: Record<string, ParamValue> | null): HeatmapCell[] {
  const grid = createGrid(params);
  const valuesOf = (name: string) => grid.axes.find((a) => a.name === name)!;
  const bin = (name: string, value: ParamValue) => {
    const axis = valuesOf(name);
    let k = 0;
    while (axis.valueAt(k) !== value) k++;
    return Math.floor(k / Math.max(1, Math.ceil(axis.size / MAX_HEATMAP_BINS)));
  };
  const cells = new Map<string, number[]>();
  for (const [index, score] of scores) {
    const p = grid.paramsAt(index);
    if (at && Object.entries(at).some(([name, value]) => p[name] !== value)) continue;
    const key = `${bin(x, p[x]!)},${bin(y, p[y]!)}`;
    cells.set(key, [...(cells.get(key) ?? []), score]);
  }
  return [...cells]
    .map(([key, s]): HeatmapCell => {
      const [bx, by] = key.split(",").map(Number) as [number, number];
      const value = agg === "max" ? Math.max(...s) : agg === "min" ? Math.min(...s) : s.reduce((a, b) => a + b, 0) / s.length;
      return [bx, by, value, s.length];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

const axisArb = fc.oneof(
  fc.integer({ min: 1, max: 6 }).map((n): ParamAxis => ({ values: Array.from({ length: n }, (_, i) => i * 10) })),
  fc.integer({ min: 1, max: 260 }).map((n): ParamAxis => ({ min: 1, max: n, step: 1 })),
  fc.constant<ParamAxis>({ values: [false, true] }),
);

describe("heatmap cells", () => {
  it("equal the naive aggregation for any grid, any fed subset in any batches, any agg and any fixed params", () => {
    fc.assert(
      fc.property(
        fc.array(axisArb, { minLength: 2, maxLength: 4 }),
        fc.constantFrom<HeatmapAgg>("max", "min", "mean"),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        (axes, agg, seed, fix) => {
          const params = Object.fromEntries(axes.map((a, i) => [`p${i}`, a]));
          const grid = createGrid(params);
          if (grid.size > 20_000) return;
          let state = seed;
          const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
          const scores = new Map<number, number>();
          for (let i = 0; i < grid.size; i++) if (rand() < 0.6) scores.set(i, Math.round((rand() - 0.5) * 1000) / 10);
          const at = fix && axes.length > 2 ? { p2: grid.axes[2]!.valueAt(Math.floor(rand() * grid.axes[2]!.size)) } : null;
          const planned = planHeatmap(grid, { x: "p0", y: "p1", agg, ...(at ? { at: JSON.stringify(at) } : {}) });
          if (!planned.ok) throw new Error(planned.message);
          const cells = new HeatmapCells(planned.plan);
          const entries = [...scores];
          for (let from = 0; from < entries.length; ) {
            const to = from + 1 + Math.floor(rand() * 50);
            cells.add(entries.slice(from, to));
            from = to;
          }
          const expected = naive(params, scores, "p0", "p1", agg, at);
          const got = cells.cells();
          expect(got.map((c) => [c[0], c[1], c[3]])).toEqual(expected.map((c) => [c[0], c[1], c[3]]));
          got.forEach((c, i) => expect(c[2]).toBeCloseTo(expected[i]![2], 9));
          expect(planned.plan.x.values.length).toBeLessThanOrEqual(MAX_HEATMAP_BINS);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("hand out only the cells a later batch changed", () => {
    const grid = createGrid({ a: { values: [1, 2, 3] }, b: { values: [1, 2] } });
    const planned = planHeatmap(grid, { x: "a", y: "b", agg: "max" });
    if (!planned.ok) throw new Error(planned.message);
    const cells = new HeatmapCells(planned.plan);
    cells.add([[0, 5], [1, 6]]);
    const v1 = cells.version;
    cells.add([[5, 9]]);
    expect(cells.cells(v1)).toEqual([[2, 1, 9, 1]]);
    expect(cells.cells()).toEqual([[0, 0, 5, 1], [0, 1, 6, 1], [2, 1, 9, 1]]);
    expect(cells.cells(cells.version)).toEqual([]);
  });

  it("name the query field at fault", () => {
    const grid = createGrid({ a: { values: [1, 2] }, b: { values: [1, 2] }, c: { values: [true, false] } });
    const fault = (q: { x: string; y: string; at?: string }) => {
      const r = planHeatmap(grid, { agg: "max", ...q });
      return r.ok ? null : r.path;
    };
    expect(fault({ x: "z", y: "b" })).toBe("x");
    expect(fault({ x: "a", y: "z" })).toBe("y");
    expect(fault({ x: "a", y: "a" })).toBe("y");
    expect(fault({ x: "a", y: "b", at: "[1]" })).toBe("at");
    expect(fault({ x: "a", y: "b", at: '{"a":1}' })).toBe("at");
    expect(fault({ x: "a", y: "b", at: '{"c":"yes"}' })).toBe("at");
    expect(fault({ x: "a", y: "b", at: '{"c":true}' })).toBeNull();
  });
});

describe("live tickets", () => {
  it("round-trip the tenant and secret, and refuse anything malformed", async () => {
    const secret = newTicketSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const tenant of ["tenant-a", "ünï code", "a.b.c"]) expect(decodeTicket(encodeTicket(tenant, secret))).toEqual({ tenant, secret });
    for (const bad of ["", ".", `.${secret}`, "dGVuYW50", `dGVuYW50.${secret.slice(0, 10)}`, `dGVu*W50.${secret}`, `${"QQ".repeat(200)}.${secret}`, `/w.${secret}`]) {
      expect(decodeTicket(bad), bad).toBeNull();
    }
    expect(await ticketHash(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(await ticketHash(secret)).not.toBe(await ticketHash(newTicketSecret()));
  });
});

describe("live update pacing", () => {
  it("sends at once after a quiet interval, else when the interval is over", () => {
    expect(liveDelay(-Infinity, 1_000)).toBe(0);
    expect(liveDelay(1_000, 1_030)).toBe(70);
    expect(liveDelay(1_000, 1_100)).toBe(0);
    expect(liveDelay(1_000, 1_500, 250)).toBe(0);
  });
});
