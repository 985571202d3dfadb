import { describe, expect, it } from "vitest";
import { createByteBudgetCache, type Lease, type SizedLoader } from "../../worker/datasets/byte-budget-cache";

const tooLarge = (bytes: number, max: number) => new Error(`${bytes} bytes is over ${max}`);
const tick = () => new Promise((r) => setTimeout(r, 0));

/** Fake loads of `bytes` each; `live` tracks the bytes read and not yet dropped by the cache. */
function world(budget: number) {
  const cache = createByteBudgetCache<string>(budget, tooLarge);
  const reads: string[] = [];
  let maxHeld = 0;
  const loader = (key: string, bytes: number, fail = false): SizedLoader<string> => ({
    size: async () => {
      await tick();
      return bytes;
    },
    read: async () => {
      // Reading is when the memory is taken: the cache must have counted it already.
      maxHeld = Math.max(maxHeld, cache.heldBytes);
      expect(cache.heldBytes).toBeLessThanOrEqual(budget);
      reads.push(key);
      await tick();
      if (fail) throw new Error(`${key} failed`);
      return `value of ${key}`;
    },
  });
  return { cache, reads, loader, maxHeld: () => maxHeld };
}

describe("byte budget cache", () => {
  it("shares one load between concurrent callers of the same key", async () => {
    const { cache, reads, loader } = world(100);
    const [a, b] = await Promise.all([cache.acquire("x", loader("x", 40)), cache.acquire("x", loader("x", 40))]);
    expect(a.value).toBe("value of x");
    expect(b.value).toBe("value of x");
    expect(reads).toEqual(["x"]);
    expect(cache.heldBytes).toBe(40);
  });

  it("never holds more than the budget: loads that do not fit wait for holders to release", async () => {
    const { cache, reads, loader, maxHeld } = world(100);
    // Four chunks on four 40-byte datasets at once: only two fit.
    const leases: Lease<string>[] = [];
    const pending = ["a", "b", "c", "d"].map((k) => cache.acquire(k, loader(k, 40)).then((l) => void leases.push(l)));
    for (let i = 0; i < 10; i++) await tick();
    expect(reads).toEqual(["a", "b"]);
    expect(cache.heldBytes).toBe(80);
    // a's chunk ends: a is evicted (idle) and c loads in its place; d still waits for b.
    leases.find((l) => l.value === "value of a")!.release();
    for (let i = 0; i < 10; i++) await tick();
    expect(reads).toEqual(["a", "b", "c"]);
    leases.find((l) => l.value === "value of b")!.release();
    await Promise.all(pending);
    expect(reads).toEqual(["a", "b", "c", "d"]);
    expect(maxHeld()).toBeLessThanOrEqual(100);
    expect(cache.heldBytes).toBe(80);
  });

  it("keeps idle entries for reuse until room is needed, evicting the least recently used", async () => {
    const { cache, reads, loader } = world(100);
    for (const k of ["a", "b"]) (await cache.acquire(k, loader(k, 40))).release();
    // a used again: b is now the least recently used.
    (await cache.acquire("a", loader("a", 40))).release();
    (await cache.acquire("c", loader("c", 40))).release();
    expect(reads).toEqual(["a", "b", "c"]);
    (await cache.acquire("a", loader("a", 40))).release();
    (await cache.acquire("b", loader("b", 40))).release();
    expect(reads).toEqual(["a", "b", "c", "b"]);
    expect(cache.heldBytes).toBe(80);
  });

  it("evicts nothing for a load that would not fit even then: it waits, and the idle entry stays cached", async () => {
    const { cache, reads, loader } = world(100);
    (await cache.acquire("idle", loader("idle", 30))).release();
    const held = await cache.acquire("busy", loader("busy", 50));
    // 60 bytes do not fit beside the 50 in use, even with the idle 30 gone: wait, evicting nothing.
    const waiting = cache.acquire("big", loader("big", 60));
    for (let i = 0; i < 10; i++) await tick();
    expect(reads).toEqual(["idle", "busy"]);
    (await cache.acquire("idle", loader("idle", 30))).release();
    expect(reads).toEqual(["idle", "busy"]);
    held.release();
    (await waiting).release();
    expect(reads).toEqual(["idle", "busy", "big"]);
  });

  it("fails an entry bigger than the whole budget without reading it", async () => {
    const { cache, reads, loader } = world(100);
    await expect(cache.acquire("huge", loader("huge", 101))).rejects.toThrow("101 bytes is over 100");
    expect(reads).toEqual([]);
    expect(cache.heldBytes).toBe(0);
  });

  it("does not cache a failed load, and gives its room to the next", async () => {
    const { cache, reads, loader } = world(100);
    const held = await cache.acquire("a", loader("a", 60));
    const failing = cache.acquire("b", loader("b", 40, true));
    const waiting = cache.acquire("c", loader("c", 40));
    await expect(failing).rejects.toThrow("b failed");
    const c = await waiting;
    expect(c.value).toBe("value of c");
    expect(cache.heldBytes).toBe(100);
    // A retry reads again.
    held.release();
    c.release();
    expect((await cache.acquire("b", loader("b", 40))).value).toBe("value of b");
    expect(reads).toEqual(["a", "b", "c", "b"]);
  });

  it("counts a release once", async () => {
    const { cache, reads, loader } = world(100);
    const a1 = await cache.acquire("a", loader("a", 60));
    const a2 = await cache.acquire("a", loader("a", 60));
    a1.release();
    a1.release();
    // a2 still holds a: b cannot evict it.
    const b = cache.acquire("b", loader("b", 60));
    for (let i = 0; i < 10; i++) await tick();
    expect(reads).toEqual(["a"]);
    a2.release();
    await b;
    expect(reads).toEqual(["a", "b"]);
  });
});
