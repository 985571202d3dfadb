import type { ApiErrorCode } from "../schema/errors";
import type { Job } from "../schema/job";
import type { Heatmap, LiveClientMessage, LiveServerMessage } from "../schema/live";
import { LIVE_PING } from "../schema/heartbeat";
import { isTerminalStatus } from "../schema/status";
import { ApiRequestError, ConnectionError } from "./errors";

/** A job as the stream carries it: whole in a snapshot or a poll, without its spec in an update. */
export type LiveJob = Omit<Job, "spec"> & { spec?: Job["spec"] };

/** Where the stream stands: what the page shows beside the status. */
export type LiveState = "connecting" | "live" | "reconnecting" | "polling" | "ended" | "closed";

export interface LiveHandlers {
  job(job: LiveJob, source: "snapshot" | "update" | "poll"): void;
  /** `full`: the whole heatmap, replacing what is drawn; else only the cells that changed. */
  heatmap(heatmap: Heatmap, full: boolean): void;
  state(state: LiveState): void;
  /** A call failed (a poll, a ticket); the stream goes on unless the job is not this key's. */
  error(error: ApiRequestError | ConnectionError): void;
  /** The server refused the heatmap subscription (a bad query); the stream goes on. */
  refused(error: ApiRequestError): void;
}

/** The part of a browser WebSocket the stream uses (a fake stands in for it in tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LiveDeps {
  /** Null where there is no WebSocket (Node 20): the watch polls from the start. */
  openSocket: ((url: string) => SocketLike) | null;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LiveOptions {
  /** Failed connects in a row (no snapshot received) before falling back to polling. */
  maxReconnects: number;
  /** Delay before reconnect number `attempt` (1-based). */
  reconnectDelayMs(attempt: number): number;
  /** Polling interval once the socket has given up. */
  pollMs: number;
  /** While polling, the socket is tried again after this many polls. */
  retrySocketPolls: number;
  /**
   * While live, a ping this often; a socket that sent nothing since the last one (not even its pong)
   * is dead (a half-open connection never closes by itself) and counts as a failed connect.
   */
  heartbeatMs: number;
  /**
   * Failed polls in a row (429s aside: the server is there, only busy) after which the watch closes,
   * the last error having gone to `handlers.error`. Infinity: poll for as long as it is watched.
   */
  maxFailedPolls: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveOptions = {
  maxReconnects: 4,
  reconnectDelayMs: (attempt) => Math.min(8_000, 500 * 2 ** (attempt - 1)),
  pollMs: 2_000,
  retrySocketPolls: 15,
  heartbeatMs: 15_000,
  // The page keeps trying (it shows "polling" and the error); a script's watch gives up (optimizer.ts).
  maxFailedPolls: Number.POSITIVE_INFINITY,
};

export interface LiveWatch {
  /** Subscribes the socket to one heatmap (replacing any earlier one); kept across reconnects. */
  subscribeHeatmap(query: Extract<LiveClientMessage, { type: "heatmap" }> | null): void;
  readonly state: LiveState;
  close(): void;
}

const SOCKET_OPEN = 1;
const isTerminal = (job: { status: Job["status"] }) => isTerminalStatus(job.status);

/** What the watch needs of the client: a ticketed URL and the status. */
export interface LiveSource {
  liveTicket(id: string): Promise<{ url: string }>;
  status(id: string): Promise<Job>;
}

const asClientError = (err: unknown): ApiRequestError | ConnectionError =>
  err instanceof ApiRequestError || err instanceof ConnectionError ? err : new ApiRequestError(500, { code: "internal", message: String(err) });

/** The job is not there for this key (another tenant's, or no such job): watching can only stop. */
const isFinal = (error: ApiRequestError | ConnectionError) => error instanceof ApiRequestError && (error.code === "not_found" || error.code === "unauthorized");
const isBusy = (error: ApiRequestError | ConnectionError) => error instanceof ApiRequestError && error.status === 429;

/**
 * Watches a job: the live WebSocket from its DO (a single-use ticket per connect, each connect starting
 * with a snapshot), reconnecting after a drop with backoff, and polling the status once the socket has
 * failed maxReconnects times in a row (trying the socket again every retrySocketPolls polls). Ends
 * after the job's last snapshot.
 */
export function watchJob(service: LiveSource, jobId: string, handlers: LiveHandlers, deps: LiveDeps, options: LiveOptions = DEFAULT_LIVE_OPTIONS): LiveWatch {
  let state: LiveState = "connecting";
  let socket: SocketLike | null = null;
  let timer: unknown = null;
  let failures = 0;
  let polls = 0;
  let failedPolls = 0;
  let terminalSeen = false;
  let heatmapQuery: Extract<LiveClientMessage, { type: "heatmap" }> | null = null;
  let heartbeat: unknown = null;
  let heard = false;

  const stopped = () => state === "ended" || state === "closed";
  const stopHeartbeat = () => {
    if (heartbeat !== null) deps.clearTimeout(heartbeat);
    heartbeat = null;
  };
  const setState = (next: LiveState) => {
    // Ended and closed are for good: a poll or a socket still under way cannot start the watch again.
    if (state === next || (stopped() && next !== "closed")) return;
    state = next;
    if (stopped()) stopHeartbeat();
    handlers.state(next);
  };
  const later = (run: () => void, ms: number) => {
    if (stopped()) return;
    timer = deps.setTimeout(() => {
      timer = null;
      run();
    }, ms);
  };

  const beat = (ws: SocketLike) => {
    heartbeat = deps.setTimeout(() => {
      heartbeat = null;
      if (socket !== ws || stopped()) return;
      if (!heard) {
        // Silent since the last ping: let this socket go (its close may never come) and connect again.
        socket = null;
        ws.onmessage = ws.onclose = ws.onerror = null;
        ws.close(4000, "no heartbeat");
        failed();
        return;
      }
      heard = false;
      if (ws.readyState === SOCKET_OPEN) ws.send(LIVE_PING);
      beat(ws);
    }, options.heartbeatMs);
  };

  const sendSubscription = () => {
    if (socket?.readyState !== SOCKET_OPEN) return;
    socket.send(JSON.stringify(heatmapQuery ?? ({ type: "unsubscribe" } satisfies LiveClientMessage)));
  };

  const onMessage = (raw: unknown) => {
    let message: LiveServerMessage;
    try {
      message = JSON.parse(String(raw)) as LiveServerMessage;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    heard = true;
    switch (message.type) {
      case "snapshot":
      case "update":
        if (isTerminal(message.job)) terminalSeen = true;
        if (message.type === "snapshot") {
          failures = 0;
          failedPolls = 0;
          // A snapshot of an ended job is the last one: straight to "ended", never "live" first.
          if (!stopped()) setState(terminalSeen ? "ended" : "live");
          if (state === "live" && heartbeat === null && socket) beat(socket);
        }
        handlers.job(message.job, message.type);
        break;
      case "heatmap":
        handlers.heatmap(message.heatmap, message.full);
        break;
      case "error":
        // A refused subscription (a bad heatmap query): the socket itself stays up.
        handlers.refused(new ApiRequestError(400, { code: message.code as ApiErrorCode, message: message.message }));
        break;
    }
  };

  const failed = () => {
    if (stopped()) return;
    failures += 1;
    if (failures > options.maxReconnects) {
      setState("polling");
      polls = 0;
      void poll();
      return;
    }
    setState("reconnecting");
    later(() => void connect(), options.reconnectDelayMs(failures));
  };

  async function connect(): Promise<void> {
    if (stopped()) return;
    if (!deps.openSocket) {
      setState("polling");
      void poll();
      return;
    }
    let url: string;
    try {
      url = (await service.liveTicket(jobId)).url;
    } catch (err) {
      const error = asClientError(err);
      if (isFinal(error)) {
        handlers.error(error);
        setState("closed");
        return;
      }
      failed();
      return;
    }
    if (stopped()) return;
    let ws: SocketLike;
    try {
      ws = deps.openSocket(url);
    } catch {
      // A URL the runtime refuses (a proxy's rewrite, a scheme it does not speak) counts as a failed connect.
      failed();
      return;
    }
    socket = ws;
    ws.onopen = () => heatmapQuery && sendSubscription();
    ws.onmessage = (event) => onMessage(event.data);
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      stopHeartbeat();
      if (terminalSeen) setState("ended");
      else failed();
    };
  }

  async function poll(): Promise<void> {
    if (stopped()) return;
    try {
      const job = await service.status(jobId);
      if (stopped()) return;
      failedPolls = 0;
      handlers.job(job, "poll");
      if (isTerminal(job)) {
        setState("ended");
        return;
      }
    } catch (err) {
      const error = asClientError(err);
      handlers.error(error);
      if (!isBusy(error)) failedPolls += 1;
      if (isFinal(error) || failedPolls >= options.maxFailedPolls) {
        setState("closed");
        return;
      }
      // The handler may have closed the watch (the page left the job).
      if (stopped()) return;
    }
    polls += 1;
    if (deps.openSocket && polls % options.retrySocketPolls === 0) {
      // The socket may be back (a deploy, a network blip): one more try, then polling again if not.
      failures = options.maxReconnects;
      setState("reconnecting");
      later(() => void connect(), options.pollMs);
      return;
    }
    later(() => void poll(), options.pollMs);
  }

  handlers.state(state);
  void connect();

  return {
    subscribeHeatmap(query) {
      heatmapQuery = query;
      sendSubscription();
    },
    get state() {
      return state;
    },
    close() {
      setState("closed");
      if (timer !== null) deps.clearTimeout(timer);
      timer = null;
      stopHeartbeat();
      const ws = socket;
      socket = null;
      ws?.close(1000, "page left the job");
    },
  };
}

/** The runtime's own WebSocket (browsers, Node >= 22, Bun) and timers. */
export const defaultLiveDeps = (): LiveDeps => ({
  openSocket: typeof globalThis.WebSocket === "function" ? (url) => new globalThis.WebSocket(url) as unknown as SocketLike : null,
  setTimeout: (run, ms) => globalThis.setTimeout(run, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
});
