import { describe, expect, it } from "vitest";
import type { Job } from "../schema/job";
import { ApiRequestError, ConnectionError } from "./errors";
import { watchJob, type LiveDeps, type LiveHandlers, type LiveOptions, type LiveState, type SocketLike } from "./live";

/** A socket the test drives: it records what the page sent and lets the test deliver frames and drops. */
class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  constructor(readonly url: string) {}
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }
}

/** Timers on a clock that moves only when the test says so. */
function harness(overrides: { liveUrl?: (id: string) => Promise<string>; status?: (id: string) => Promise<Job> } = {}) {
  let now = 0;
  const timers: { at: number; run: () => void; id: number }[] = [];
  let nextId = 0;
  const sockets: FakeSocket[] = [];
  const states: LiveState[] = [];
  const jobs: { status: string; source: string }[] = [];
  const errors: (ApiRequestError | ConnectionError)[] = [];
  const refusals: ApiRequestError[] = [];
  const calls = { liveUrl: 0, status: 0 };
  const deps: LiveDeps = {
    openSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimeout: (run, ms) => {
      timers.push({ at: now + ms, run, id: ++nextId });
      return nextId;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const service = {
    liveTicket: async (id: string) => (calls.liveUrl++, { url: overrides.liveUrl ? await overrides.liveUrl(id) : `ws://x/live?ticket=${calls.liveUrl}` }),
    status: async (id: string) => (calls.status++, overrides.status ? overrides.status(id) : job("running")),
  };
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  /** Moves the clock by ms, running timers that fall due, awaiting between them. */
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > until) break;
      timers.shift();
      now = due.at;
      due.run();
      await flush();
    }
    now = until;
  };
  return { deps, service, sockets, states, jobs, errors, refusals, calls, flush, advance, pendingTimers: () => timers.length };
}

const job = (status: Job["status"], finished = 0): Job =>
  ({ id: "j", status, summary: { finished, total: 10, topN: [] }, stats: {}, spec: {} }) as unknown as Job;

// The heartbeat is far off unless a test is about it: the others let minutes pass without frames.
const options: LiveOptions = { maxReconnects: 2, reconnectDelayMs: (n) => 1_000 * n, pollMs: 2_000, retrySocketPolls: 3, heartbeatMs: 3_600_000, maxFailedPolls: Number.POSITIVE_INFINITY };

/** Starts a watch recording into the harness; a test may replace a handler or an option. */
function start(h: ReturnType<typeof harness>, overrides: { handlers?: Partial<LiveHandlers>; options?: Partial<LiveOptions> } = {}) {
  return watchJob(
    h.service,
    "j",
    {
      job: (j, source) => h.jobs.push({ status: j.status, source }),
      heatmap: () => undefined,
      state: (s) => h.states.push(s),
      error: (e) => h.errors.push(e),
      refused: (e) => h.refusals.push(e),
      ...overrides.handlers,
    },
    h.deps,
    { ...options, ...overrides.options },
  );
}

describe("watchJob: the live stream and its fallback", () => {
  it("polls from the start where there is no WebSocket (Node 20)", async () => {
    const h = harness();
    h.deps.openSocket = null;
    start(h);
    await h.flush();
    expect(h.states).toEqual(["connecting", "polling"]);
    expect(h.jobs).toEqual([{ status: "running", source: "poll" }]);
    await h.advance(2_000);
    expect(h.calls).toEqual({ liveUrl: 0, status: 2 });
  });

  it("connects with a fresh ticket, goes live on the snapshot, passes updates on, and ends on the last snapshot", async () => {
    const h = harness();
    const watch = start(h);
    await h.flush();
    const socket = h.sockets[0]!;
    expect(socket.url).toBe("ws://x/live?ticket=1");
    socket.open();
    socket.deliver({ type: "snapshot", job: job("running", 1) });
    socket.deliver({ type: "update", job: job("running", 5) });
    // The server's end: a last snapshot, then close 1000.
    socket.deliver({ type: "snapshot", job: job("succeeded", 10) });
    socket.drop(1000);
    expect(h.jobs).toEqual([
      { status: "running", source: "snapshot" },
      { status: "running", source: "update" },
      { status: "succeeded", source: "snapshot" },
    ]);
    expect(h.states).toEqual(["connecting", "live", "ended"]);
    expect(watch.state).toBe("ended");
    // Ended: no reconnect, no polling.
    await h.advance(60_000);
    expect([h.calls.liveUrl, h.calls.status, h.sockets.length]).toEqual([1, 0, 1]);
  });

  it("reconnects after a drop with a new ticket, resubscribing its heatmap, and each connect starts with a snapshot", async () => {
    const h = harness();
    const watch = start(h);
    await h.flush();
    h.sockets[0]!.open();
    watch.subscribeHeatmap({ type: "heatmap", x: "fast", y: "slow", agg: "max" });
    expect(h.sockets[0]!.sent).toEqual([{ type: "heatmap", x: "fast", y: "slow", agg: "max" }]);
    h.sockets[0]!.deliver({ type: "snapshot", job: job("running", 1) });
    h.sockets[0]!.drop();
    expect(h.states.at(-1)).toBe("reconnecting");
    await h.advance(999);
    expect(h.sockets).toHaveLength(1);
    await h.advance(1);
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1]!.url).toBe("ws://x/live?ticket=2");
    h.sockets[1]!.open();
    expect(h.sockets[1]!.sent).toEqual([{ type: "heatmap", x: "fast", y: "slow", agg: "max" }]);
    h.sockets[1]!.deliver({ type: "snapshot", job: job("running", 4) });
    expect(h.states.at(-1)).toBe("live");
    watch.close();
    expect(h.sockets[1]!.closedWith).toBe(1000);
    expect(h.pendingTimers()).toBe(0);
  });

  it("falls back to polling once the socket has failed maxReconnects times in a row, and stops when the job ends", async () => {
    let polls = 0;
    const h = harness({ status: async () => job(++polls >= 3 ? "canceled" : "running", polls) });
    start(h);
    await h.flush();
    h.sockets[0]!.drop();
    await h.advance(1_000);
    h.sockets[1]!.drop();
    await h.advance(2_000);
    h.sockets[2]!.drop();
    await h.flush();
    expect(h.states).toEqual(["connecting", "reconnecting", "polling"]);
    expect(h.jobs).toEqual([{ status: "running", source: "poll" }]);
    await h.advance(2_000);
    await h.advance(2_000);
    expect(h.jobs.map((j) => j.status)).toEqual(["running", "running", "canceled"]);
    expect(h.states.at(-1)).toBe("ended");
    await h.advance(60_000);
    expect(h.calls.status).toBe(3);
    expect(h.sockets).toHaveLength(3);
  });

  it("a failure to get a ticket counts as a failed connect; a job not found (another tenant's) stops at once", async () => {
    let attempts = 0;
    const flaky = harness({
      liveUrl: async () => {
        if (++attempts === 1) throw new ApiRequestError(503, { code: "unavailable", message: "try again" });
        return "ws://x/live?ticket=ok";
      },
    });
    start(flaky);
    await flaky.flush();
    expect(flaky.states.at(-1)).toBe("reconnecting");
    await flaky.advance(1_000);
    expect(flaky.sockets.map((s) => s.url)).toEqual(["ws://x/live?ticket=ok"]);

    const foreign = harness({ liveUrl: async () => Promise.reject(new ApiRequestError(404, { code: "not_found", message: "no such optimization" })) });
    start(foreign);
    await foreign.flush();
    expect(foreign.states).toEqual(["connecting", "closed"]);
    expect(foreign.errors.map((e) => (e instanceof ApiRequestError ? e.code : "connection"))).toEqual(["not_found"]);
    await foreign.advance(60_000);
    expect(foreign.calls).toEqual({ liveUrl: 1, status: 0 });
  });

  it("gives up after maxFailedPolls failed polls in a row, closing with the last error passed on; 429s are not counted and an answer resets the count", async () => {
    const answers: (Error | "ok")[] = [
      new ConnectionError("http://x", new TypeError("fetch failed")),
      "ok",
      new ApiRequestError(429, { code: "quota_exceeded", message: "slow down" }),
      new ApiRequestError(429, { code: "quota_exceeded", message: "slow down" }),
      new ConnectionError("http://x", new TypeError("fetch failed")),
      new ApiRequestError(503, { code: "unavailable", message: "down" }),
    ];
    const h = harness({ status: async () => { const next = answers.shift() ?? new ConnectionError("http://x", new TypeError("fetch failed")); if (next === "ok") return job("running", 1); throw next; } });
    h.deps.openSocket = null;
    start(h, { options: { maxFailedPolls: 2 } });
    await h.flush();
    await h.advance(60_000);
    // Failed, answered (count back to 0), two 429s (not counted), then two failures in a row: closed.
    expect([h.calls.status, h.states.at(-1), h.pendingTimers()]).toEqual([6, "closed", 0]);
    expect(h.errors.map((e) => (e instanceof ApiRequestError ? e.status : "connection"))).toEqual(["connection", 429, 429, "connection", 503]);
  });

  it("closed from its own error handler (a caller giving up), it stays closed: no poll, no socket retry after", async () => {
    const h = harness({ status: async () => Promise.reject(new ConnectionError("http://x", new TypeError("fetch failed"))) });
    let errors = 0;
    const watch = start(h, { handlers: { error: () => ++errors === options.retrySocketPolls && watch.close() } });
    await h.flush();
    h.sockets[0]!.drop();
    await h.advance(1_000);
    h.sockets[1]!.drop();
    await h.advance(2_000);
    h.sockets[2]!.drop();
    await h.flush();
    await h.advance(60_000);
    // The third failed poll is also when the socket would be tried again: it is not.
    expect([errors, h.calls.status, h.sockets.length, h.pendingTimers()]).toEqual([3, 3, 3, 0]);
    expect(h.states.at(-1)).toBe("closed");
  });

  it("while live, pings every heartbeatMs; a socket silent since its last ping is dropped and a new ticket connects", async () => {
    const h = harness();
    const watch = start(h, { options: { heartbeatMs: 5_000 } });
    await h.flush();
    const first = h.sockets[0]!;
    first.open();
    first.deliver({ type: "snapshot", job: job("running", 1) });
    await h.advance(5_000);
    expect(first.sent).toEqual([{ type: "ping" }]);
    first.deliver({ type: "pong" });
    await h.advance(5_000);
    expect([first.sent.length, h.sockets.length, h.states.at(-1)]).toEqual([2, 1, "live"]);
    // No pong, no update: a half-open connection. It is let go and the watch connects again.
    await h.advance(5_000);
    expect(first.closedWith).toBe(4000);
    expect(h.states.at(-1)).toBe("reconnecting");
    await h.advance(1_000);
    expect(h.sockets.map((s) => s.url)).toEqual(["ws://x/live?ticket=1", "ws://x/live?ticket=2"]);
    h.sockets[1]!.open();
    h.sockets[1]!.deliver({ type: "snapshot", job: job("succeeded", 10) });
    expect(h.states.at(-1)).toBe("ended");
    expect(h.pendingTimers()).toBe(0);
    watch.close();
  });

  it("a WebSocket the runtime refuses to open counts as a failed connect, then polling", async () => {
    const h = harness();
    h.deps.openSocket = () => {
      throw new SyntaxError("invalid URL scheme");
    };
    start(h);
    await h.flush();
    expect(h.states.at(-1)).toBe("reconnecting");
    await h.advance(1_000);
    await h.advance(2_000);
    expect(h.states).toEqual(["connecting", "reconnecting", "polling"]);
    expect(h.jobs).toEqual([{ status: "running", source: "poll" }]);
  });

  it("a job already ended: its one snapshot goes straight to ended (never shown live), then the server's close", async () => {
    const h = harness();
    start(h);
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.deliver({ type: "snapshot", job: job("early-stopped", 7) });
    h.sockets[0]!.drop(1000);
    expect(h.states).toEqual(["connecting", "ended"]);
    await h.advance(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it("close() while the ticket is on its way opens no socket", async () => {
    let release: (url: string) => void = () => undefined;
    const h = harness({ liveUrl: () => new Promise<string>((resolve) => (release = resolve)) });
    const watch = start(h);
    await h.flush();
    watch.close();
    release("ws://x/live?ticket=late");
    await h.flush();
    expect(h.sockets).toHaveLength(0);
    expect(h.states).toEqual(["connecting", "closed"]);
  });

  it("while polling, tries the socket again every retrySocketPolls polls and goes live when it answers", async () => {
    const h = harness();
    start(h);
    await h.flush();
    h.sockets[0]!.drop();
    await h.advance(1_000);
    h.sockets[1]!.drop();
    await h.advance(2_000);
    h.sockets[2]!.drop();
    await h.flush();
    expect(h.states.at(-1)).toBe("polling");
    await h.advance(2_000 * 2);
    expect([h.calls.status, h.sockets.length]).toEqual([3, 3]);
    await h.advance(2_000);
    expect(h.sockets).toHaveLength(4);
    h.sockets[3]!.open();
    h.sockets[3]!.deliver({ type: "snapshot", job: job("running", 5) });
    expect(h.states.slice(-3)).toEqual(["polling", "reconnecting", "live"]);
  });

  it("passes the server's error frames on and ignores frames that are not a JSON object", async () => {
    const h = harness();
    start(h);
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.onmessage?.({ data: "not json" });
    h.sockets[0]!.onmessage?.({ data: "null" });
    h.sockets[0]!.onmessage?.({ data: "42" });
    h.sockets[0]!.deliver({ type: "error", code: "validation_failed", message: "no param named z" });
    expect(h.refusals.map((e) => [e.code, e.message])).toEqual([["validation_failed", "no param named z"]]);
    expect(h.errors).toEqual([]);
    expect(h.jobs).toEqual([]);
  });
});
