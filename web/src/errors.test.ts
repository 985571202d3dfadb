import { describe, expect, it } from "vitest";
import { ApiRequestError, ConnectionError } from "grid-optimizer/client";
import { shownError, slotPathFor } from "./errors";

describe("how the page shows errors", () => {
  it("puts a field's error at its own slot, else at the nearest parent's, else nowhere (the form's line)", () => {
    const slots = new Set(["params.fast", "params.fast.max", "topN", "params"]);
    const has = (p: string) => slots.has(p);
    expect(slotPathFor("params.fast.max", has)).toBe("params.fast.max");
    expect(slotPathFor("params.fast.values.3", has)).toBe("params.fast");
    expect(slotPathFor("params.nope", has)).toBe("params");
    expect(slotPathFor("objective.metric", has)).toBeNull();
    expect(slotPathFor("", has)).toBeNull();
  });

  it("shows the API's code and details, 'network' when there was no answer", () => {
    const details = [{ path: "topN", message: "Too big" }];
    expect(shownError(new ApiRequestError(400, { code: "validation_failed", message: "invalid input", details }))).toEqual({ code: "validation_failed", message: "invalid input", details });
    expect(shownError(new ConnectionError("http://x", new TypeError("fetch failed")))).toEqual({ code: "network", message: "could not reach http://x: fetch failed", details: [] });
    expect(shownError("odd")).toEqual({ code: "internal", message: "odd", details: [] });
  });
});
