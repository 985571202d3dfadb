import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import Papa from "papaparse";
import { afterEach, describe, expect, it } from "vitest";
import { LIVE_PING, type ApiErrorBody, type Heatmap, type HeatmapCell, type Job, type LiveServerMessage, type LiveTicket, type Page, type Task } from "../../schema";
import { jobStub } from "../../worker/job-ref";
import { api, KEY_A, KEY_B, range, submit, synthetic, waitFor, waitForEnd } from "../helpers";

const open: WebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) {
    try {
      ws.close(1000, "test over");
    } catch {
      // Closed by the server already.
    }
  }
});

/** Opens the live socket of a ticket URL the way a browser would (the test fetch speaks http). */
async function connect(url: string): Promise<{ status: number; ws: WebSocket | null; messages: LiveServerMessage[]; closed: Promise<number> }> {
  const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { upgrade: "websocket" } }));
  const ws = res.webSocket;
  const messages: LiveServerMessage[] = [];
  if (!ws) return { status: res.status, ws: null, messages, closed: Promise.resolve(-1) };
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) => {
    messages.push(JSON.parse(e.data as string) as LiveServerMessage);
  });
  ws.accept();
  open.push(ws);
  return { status: res.status, ws, messages, closed };
}

const ticketFor = async (id: string, key = KEY_A) => api<LiveTicket>("POST", `/api/v1/optimizations/${id}/live`, { key });

const allTasks = async (id: string): Promise<Task[]> => {
  const out: Task[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: Page<Task> = (await api<Page<Task>>("GET", `/api/v1/optimizations/${id}/tasks?limit=500${cursor ? `&cursor=${cursor}` : ""}`)).body;
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
};

/** The heatmap computed naively from every task: max (or mean) score per (x, y) value, others free. */
function naiveCells(tasks: Task[], x: string, y: string, xs: unknown[], ys: unknown[], agg: "max" | "mean"): HeatmapCell[] {
  const cells = new Map<string, number[]>();
  for (const t of tasks) {
    if (t.status !== "succeeded" || t.score === null) continue;
    const key = `${xs.indexOf(t.params[x])},${ys.indexOf(t.params[y])}`;
    cells.set(key, [...(cells.get(key) ?? []), t.score]);
  }
  return [...cells]
    .map(([key, scores]): HeatmapCell => {
      const [xi, yi] = key.split(",").map(Number) as [number, number];
      return [xi, yi, agg === "max" ? Math.max(...scores) : scores.reduce((a, b) => a + b, 0) / scores.length, scores.length];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe("live tickets", () => {
  it("answer a single-use ws URL for the caller's job, and 404 for another tenant's", async () => {
    const job = await submit(synthetic({ a: range(1, 4) }));
    const ticket = await ticketFor(job.id);
    expect(ticket.status).toBe(201);
    const url = new URL(ticket.body.url);
    expect(url.protocol).toBe("ws:");
    expect(url.pathname).toBe(`/api/v1/optimizations/${job.id}/live`);
    // The key never travels in the URL.
    expect(ticket.body.url).not.toContain(KEY_A);
    expect(Date.parse(ticket.body.expiresAt) - Date.now()).toBeGreaterThan(50_000);

    const other = await ticketFor(job.id, KEY_B);
    expect(other.status).toBe(404);
    expect((other.body as unknown as ApiErrorBody).error.code).toBe("not_found");

    const first = await connect(ticket.body.url);
    expect(first.status).toBe(101);
    const again = await connect(ticket.body.url);
    expect(again.status).toBe(401);
    await waitForEnd(job.id);
  });

  it("refuse a missing, malformed or forged ticket, and a request that is no upgrade", async () => {
    const job = await submit(synthetic({ a: range(1, 2) }));
    const { body } = await ticketFor(job.id);
    const base = `http://optimizer.test/api/v1/optimizations/${job.id}/live`;
    const secret = new URL(body.url).searchParams.get("ticket")!.split(".")[1]!;
    // The same secret under tenant-b's name reaches tenant-b's object, which never issued it.
    const forged = `${btoa("tenant-b").replaceAll("=", "")}.${secret}`;
    const unknownTenant = `${btoa("tenant-z").replaceAll("=", "")}.${secret}`;
    for (const [query, status] of [["", 401], ["?ticket=nonsense", 401], [`?ticket=${forged}`, 401], [`?ticket=${unknownTenant}`, 401]] as const) {
      expect((await connect(base + query)).status, query).toBe(status);
    }
    // The forged attempt did not spend the real ticket.
    const noUpgrade = await exports.default.fetch(new Request(body.url.replace(/^ws/, "http")));
    expect(noUpgrade.status).toBe(400);
    expect((await connect(body.url)).status).toBe(101);
    await waitForEnd(job.id);
  });
});

describe("the live stream", () => {
  it("starts with a snapshot, coalesces updates, and ends with a snapshot of the ended job and a 1000 close", async () => {
    const job = await submit(synthetic({ a: range(1, 40), sleepMs: { values: [20] } }, { concurrencyLimit: 4 }));
    const live = await connect((await ticketFor(job.id)).body.url);
    expect(live.status).toBe(101);
    const code = await live.closed;
    expect(code).toBe(1000);
    const { messages } = live;
    expect(messages[0]?.type).toBe("snapshot");
    const last = messages.at(-1)!;
    expect(last.type).toBe("snapshot");
    if (last.type !== "snapshot") throw new Error("unreachable");
    expect(last.job.status).toBe("succeeded");
    expect(last.job.summary.finished).toBe(40);
    expect(last.job).toEqual((await api<Job>("GET", `/api/v1/optimizations/${job.id}/status`)).body);
    const updates = messages.filter((m) => m.type === "update");
    expect(updates.length).toBeGreaterThan(0);
    // An update carries no spec (the snapshot did); counts never go back.
    for (const u of updates) expect(Object.hasOwn(u.job, "spec")).toBe(false);
    const finished = updates.map((u) => (u.type === "update" ? u.job.summary.finished : -1));
    expect([...finished].sort((a, b) => a - b)).toEqual(finished);
  });

  it("survives the object's eviction: the hibernated socket gets the updates, a whole heatmap and the last snapshot", async () => {
    const job = await submit(synthetic({ a: range(1, 30), b: range(1, 2), sleepMs: { values: [25] } }, { concurrencyLimit: 2 }));
    const live = await connect((await ticketFor(job.id)).body.url);
    live.ws!.send(JSON.stringify({ type: "heatmap", x: "a", y: "b" }));
    await waitFor(async () => live.messages.some((m) => m.type === "heatmap"), { what: "the first heatmap" });
    const before = live.messages.length;
    await evictDurableObject(jobStub(env, "tenant-a", job.id), { webSockets: "hibernate" });
    expect(await live.closed).toBe(1000);
    const after = live.messages.slice(before);
    const last = after.at(-1)!;
    expect(last.type === "snapshot" && last.job.status).toBe("succeeded");
    // The woken object had no memory of what the socket was sent: it sends a whole heatmap, from the
    // attachment's subscription. (Diffs the old object sent just before the eviction may land first.)
    const heatmaps = after.filter((m): m is Extract<LiveServerMessage, { type: "heatmap" }> => m.type === "heatmap");
    expect(heatmaps.some((m) => m.full)).toBe(true);
    const rest = (await api<Heatmap>("GET", `/api/v1/optimizations/${job.id}/heatmap?x=a&y=b`)).body;
    const final = heatmaps.at(-1)!;
    expect(final.heatmap.finished).toBe(rest.finished);
  });

  it("answers the heartbeat: the exact ping by the runtime, after an eviction too, and another spelling by the hub", async () => {
    const job = await submit(synthetic({ a: range(1, 40), sleepMs: { values: [200] } }, { concurrencyLimit: 1 }));
    const live = await connect((await ticketFor(job.id)).body.url);
    await waitFor(async () => live.messages.length > 0);
    const pongs = () => live.messages.filter((m) => m.type === "pong").length;
    live.ws!.send(LIVE_PING);
    await waitFor(async () => pongs() === 1);
    live.ws!.send('{ "type": "ping" }');
    await waitFor(async () => pongs() === 2);
    await evictDurableObject(jobStub(env, "tenant-a", job.id), { webSockets: "hibernate" });
    live.ws!.send(LIVE_PING);
    await waitFor(async () => pongs() === 3);
    expect(live.messages.filter((m) => m.type === "error")).toEqual([]);
    await api("POST", `/api/v1/optimizations/${job.id}/cancel`, { body: {} });
  });

  it("opens on an ended job with its snapshot and closes at once", async () => {
    const job = await submit(synthetic({ a: range(1, 3) }));
    await waitForEnd(job.id);
    const live = await connect((await ticketFor(job.id)).body.url);
    expect(await live.closed).toBe(1000);
    expect(live.messages.map((m) => m.type)).toEqual(["snapshot"]);
  });

  it("sends a subscribed heatmap whole, then its changed cells, which add up to the REST heatmap", async () => {
    const job = await submit(synthetic({ a: range(1, 6), b: range(1, 5), c: range(0, 1), sleepMs: { values: [10] } }, { concurrencyLimit: 3 }));
    const live = await connect((await ticketFor(job.id)).body.url);
    live.ws!.send(JSON.stringify({ type: "heatmap", x: "a", y: "b", agg: "max" }));
    live.ws!.send("not json");
    await live.closed;
    const heatmaps = live.messages.filter((m): m is Extract<LiveServerMessage, { type: "heatmap" }> => m.type === "heatmap");
    expect(heatmaps[0]?.full).toBe(true);
    expect(live.messages.some((m) => m.type === "error" && m.code === "bad_request")).toBe(true);
    const merged = new Map<string, HeatmapCell>();
    for (const h of heatmaps) {
      if (h.full) merged.clear();
      for (const cell of h.heatmap.cells) merged.set(`${cell[0]},${cell[1]}`, cell);
    }
    const rest = (await api<Heatmap>("GET", `/api/v1/optimizations/${job.id}/heatmap?x=a&y=b&agg=max`)).body;
    expect([...merged.values()].sort((p, q) => p[0] - q[0] || p[1] - q[1])).toEqual(rest.cells);
    expect(rest.cells).toHaveLength(30);
    // score = a + b + c, max over c in {0, 1}: a + b + 1, each cell from 2 tasks.
    for (const [xi, yi, value, count] of rest.cells) expect([value, count]).toEqual([xi + 1 + (yi + 1) + 1, 2]);
  });
});

describe("GET /optimizations/:id/heatmap", () => {
  it("aggregates the objective per cell as a naive pass over every task does, with others free or fixed", async () => {
    const job = await submit({
      strategy: "sma-crossover",
      dataset: "sp500",
      params: { fast: { values: [5, 10, 20] }, slow: { values: [50, 100] }, allowShort: { values: [false, true] } },
      objective: { metric: "sharpe", mode: "max" },
      concurrencyLimit: 4,
    });
    await waitForEnd(job.id);
    const tasks = await allTasks(job.id);
    for (const agg of ["max", "mean"] as const) {
      const { status, body } = await api<Heatmap>("GET", `/api/v1/optimizations/${job.id}/heatmap?x=fast&y=slow&agg=${agg}`);
      expect(status).toBe(200);
      expect(body.x).toEqual({ name: "fast", values: [5, 10, 20], binSize: 1, size: 3 });
      expect(body.finished).toBe(12);
      const expected = naiveCells(tasks, "fast", "slow", [5, 10, 20], [50, 100], agg);
      expect(body.cells.map((c) => [c[0], c[1], c[3]])).toEqual(expected.map((c) => [c[0], c[1], c[3]]));
      body.cells.forEach((c, i) => expect(c[2]).toBeCloseTo(expected[i]![2], 12));
    }
    const at = encodeURIComponent(JSON.stringify({ allowShort: true }));
    const fixed = (await api<Heatmap>("GET", `/api/v1/optimizations/${job.id}/heatmap?x=fast&y=slow&at=${at}`)).body;
    expect(fixed.at).toEqual({ allowShort: true });
    const shortOnly = tasks.filter((t) => t.params.allowShort === true);
    expect(fixed.cells).toEqual(naiveCells(shortOnly, "fast", "slow", [5, 10, 20], [50, 100], "max"));
  });

  it("names the query field that is wrong, and is 404 for another tenant", async () => {
    const job = await submit(synthetic({ a: range(1, 3), b: range(1, 2) }));
    await waitForEnd(job.id);
    const cases = [
      ["x=nope&y=b", "x"],
      ["x=a&y=a", "y"],
      ["x=a&y=b&at=%7B", "at"],
      [`x=a&y=b&at=${encodeURIComponent('{"a":1}')}`, "at"],
    ] as const;
    for (const [query, path] of cases) {
      const res = await api<ApiErrorBody>("GET", `/api/v1/optimizations/${job.id}/heatmap?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.details?.[0]?.path, query).toBe(path);
    }
    expect((await api("GET", `/api/v1/optimizations/${job.id}/heatmap?x=a&y=b`, { key: KEY_B })).status).toBe(404);
  });

  it("bins an axis longer than 100 values", async () => {
    const job = await submit(synthetic({ a: range(1, 250), b: range(1, 2) }, { concurrencyLimit: 8 }));
    await waitForEnd(job.id);
    const body = (await api<Heatmap>("GET", `/api/v1/optimizations/${job.id}/heatmap?x=a&y=b&agg=mean`)).body;
    expect(body.x.binSize).toBe(3);
    expect(body.x.values.slice(0, 3)).toEqual([1, 4, 7]);
    expect(body.x.values).toHaveLength(84);
    // The first bin holds a = 1..3 and b = 1: mean score 3; the last a = 250 alone.
    expect(body.cells[0]).toEqual([0, 0, 3, 3]);
    expect(body.cells.at(-1)).toEqual([83, 1, 252, 1]);
  });
});

describe("GET /optimizations/:id/export", () => {
  it("streams every task with params as columns (CSV) or fields (JSON), in grid order", async () => {
    const job = await submit(synthetic({ a: range(1, 700), b: { values: [0, 1] } }, { concurrencyLimit: 8 }));
    await waitForEnd(job.id);
    const csvRes = await exports.default.fetch(new Request(`http://optimizer.test/api/v1/optimizations/${job.id}/export?format=csv`, { headers: { authorization: `Bearer ${KEY_A}` } }));
    expect(csvRes.status).toBe(200);
    expect(csvRes.headers.get("content-type")).toContain("text/csv");
    expect(csvRes.headers.get("content-disposition")).toContain(`optimization-${job.id}.csv`);
    const parsed = Papa.parse<Record<string, string>>((await csvRes.text()).trim(), { header: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.meta.fields).toEqual(["index", "status", "attempt", "a", "b", "score", "errorKind", "errorMessage"]);
    expect(parsed.data).toHaveLength(1400);
    parsed.data.forEach((row, i) => {
      expect(Number(row.index)).toBe(i);
      expect(row.status).toBe("succeeded");
      expect(Number(row.score)).toBe(Number(row.a) + Number(row.b));
    });

    const jsonRes = await exports.default.fetch(new Request(`http://optimizer.test/api/v1/optimizations/${job.id}/export?format=json`, { headers: { authorization: `Bearer ${KEY_A}` } }));
    const rows = (await jsonRes.json()) as { index: number; params: Record<string, number>; score: number; metrics: Record<string, number> }[];
    expect(rows).toHaveLength(1400);
    expect(rows[701]).toMatchObject({ index: 701, params: { a: 351, b: 1 }, score: 352, metrics: { score: 352 } });
  });

  it("CSV text that a spreadsheet would run as a formula is escaped; numbers, negative ones too, are not", async () => {
    const job = await submit(synthetic({ a: { values: [-2] }, note: { values: ['=HYPERLINK("http://evil.test","ok")', "@SUM(A1)", "plain"] } }));
    await waitForEnd(job.id);
    const res = await exports.default.fetch(new Request(`http://optimizer.test/api/v1/optimizations/${job.id}/export?format=csv`, { headers: { authorization: `Bearer ${KEY_A}` } }));
    const rows = Papa.parse<Record<string, string>>((await res.text()).trim(), { header: true }).data;
    expect(rows.map((r) => [r.a, r.note, r.score])).toEqual([
      ["-2", `'=HYPERLINK("http://evil.test","ok")`, "-2"],
      ["-2", "'@SUM(A1)", "-2"],
      ["-2", "plain", "-2"],
    ]);
  });

  it("is 404 for another tenant's job and 400 for an unknown format", async () => {
    const job = await submit(synthetic({ a: range(1, 2) }));
    await waitForEnd(job.id);
    expect((await api("GET", `/api/v1/optimizations/${job.id}/export?format=csv`, { key: KEY_B })).status).toBe(404);
    expect((await api("GET", `/api/v1/optimizations/${job.id}/export?format=xml`)).status).toBe(400);
    const small = await api<unknown[]>("GET", `/api/v1/optimizations/${job.id}/export?format=json`);
    expect(small.body).toHaveLength(2);
  });
});
