import { describe, expect, it } from "vitest";
import { insertTopN, meetsThreshold } from "../../durable-objects/top-n";

const e = (index: number, score: number) => ({ index, score });

describe("top-N", () => {
  it("keeps the best n, best first, for max", () => {
    let list: { index: number; score: number }[] = [];
    for (const [i, s] of [[0, 3], [1, 9], [2, 1], [3, 7], [4, 9], [5, 8]] as const) list = insertTopN(list, e(i, s), 3, "max") ?? list;
    expect(list).toEqual([e(1, 9), e(4, 9), e(5, 8)]);
  });

  it("keeps the lowest for min and says when nothing changed", () => {
    const list = [e(0, 1), e(1, 2)];
    expect(insertTopN(list, e(2, 5), 2, "min")).toBeNull();
    expect(insertTopN(list, e(2, 0), 2, "min")).toEqual([e(2, 0), e(0, 1)]);
    expect(insertTopN(list, e(2, 5), 3, "min")).toEqual([e(0, 1), e(1, 2), e(2, 5)]);
  });

  it("breaks ties by task index, whatever the arrival order", () => {
    const a = [e(7, 1), e(3, 1), e(5, 1)].reduce((l, x) => insertTopN(l, x, 2, "max") ?? l, [] as { index: number; score: number }[]);
    expect(a).toEqual([e(3, 1), e(5, 1)]);
  });

  it("checks early-stop thresholds inclusively in the policy's direction", () => {
    expect(meetsThreshold(2, 2, "max")).toBe(true);
    expect(meetsThreshold(1.99, 2, "max")).toBe(false);
    expect(meetsThreshold(-0.1, -0.1, "min")).toBe(true);
    expect(meetsThreshold(0, -0.1, "min")).toBe(false);
  });
});
