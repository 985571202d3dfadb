import { isTerminalStatus, type Heatmap, type Job, type LiveClientMessage, type LiveServerMessage } from "grid-optimizer/client";
import { ServiceError, type Service } from "./service";

/** A job as the stream carries it: whole in a snapshot or a poll, without its spec in an update. */
export type LiveJob = Omit<Job, "spec"> & { spec?: Job["spec"] };

/** Where the stream stands: what the page shows beside the status. */
export type LiveState = "connecting" | "live" | "reconnecting" | "polling" | "ended" | "closed";

export interface LiveHandlers {
  job(job: LiveJob, source: "snapshot" | "update" | "poll"): void;
  /** `full`: the whole heatmap, replacing what is drawn; else only the cells that changed. */
  heatmap(heatmap: Heatmap, full: boolean): void;
  state(state: LiveState): void;
  error(error: ServiceError): void;
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
  openSocket(url: string): SocketLike;
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
}

export const DEFAULT_LIVE_OPTIONS: LiveOptions = {
  maxReconnects: 4,
  reconnectDelayMs: (attempt) => Math.min(8_000, 500 * 2 ** (attempt - 1)),
  pollMs: 2_000,
};

export interface LiveWatch {
  /** Subscribes the socket to one heatmap (replacing any earlier one); kept across reconnects. */
  subscribeHeatmap(query: Extract<LiveClientMessage, { type: "heatmap" }> | null): void;
  readonly state: LiveState;
  close(): void;
}

const SOCKET_OPEN = 1;
const isTerminal = (job: { status: Job["status"] }) => isTerminalStatus(job.status);

/**
 * Watches a job: the live WebSocket from its DO (a single-use ticket per connect, each connect starting
 * with a snapshot), reconnecting after a drop with backoff, and polling the status once the socket has
 * failed maxReconnects times in a row. Ends after the job's last snapshot.
 */
export function watchJob(
  service: Pick<Service, "liveUrl" | "status">,
  jobId: string,
  handlers: LiveHandlers,
  deps: LiveDeps,
  options: LiveOptions = DEFAULT_LIVE_OPTIONS,
): LiveWatch {
  let state: LiveState = "connecting";
  let socket: SocketLike | null = null;
  let timer: unknown = null;
  let failures = 0;
  let terminalSeen = false;
  let heatmapQuery: Extract<LiveClientMessage, { type: "heatmap" }> | null = null;

  const setState = (next: LiveState) => {
    if (state === next) return;
    state = next;
    handlers.state(next);
  };
  const stopped = () => state === "ended" || state === "closed";
  const later = (run: () => void, ms: number) => {
    timer = deps.setTimeout(() => {
      timer = null;
      run();
    }, ms);
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
    switch (message.type) {
      case "snapshot":
      case "update":
        if (message.type === "snapshot") {
          failures = 0;
          if (!stopped()) setState("live");
        }
        handlers.job(message.job, message.type);
        if (isTerminal(message.job)) terminalSeen = true;
        if (terminalSeen && message.type === "snapshot") setState("ended");
        break;
      case "heatmap":
        handlers.heatmap(message.heatmap, message.full);
        break;
      case "error":
        handlers.error(new ServiceError(message.code, message.message));
        break;
    }
  };

  const failed = () => {
    if (stopped()) return;
    failures += 1;
    if (failures > options.maxReconnects) {
      setState("polling");
      poll();
      return;
    }
    setState("reconnecting");
    later(connect, options.reconnectDelayMs(failures));
  };

  const connect = async () => {
    if (stopped()) return;
    let url: string;
    try {
      url = await service.liveUrl(jobId);
    } catch (err) {
      const error = err instanceof ServiceError ? err : new ServiceError("internal", String(err));
      if (error.code === "not_found" || error.code === "unauthorized") {
        handlers.error(error);
        setState("closed");
        return;
      }
      failed();
      return;
    }
    if (stopped()) return;
    const ws = deps.openSocket(url);
    socket = ws;
    ws.onopen = () => heatmapQuery && sendSubscription();
    ws.onmessage = (event) => onMessage(event.data);
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      if (terminalSeen) setState("ended");
      else failed();
    };
  };

  const poll = async () => {
    if (stopped()) return;
    try {
      const job = await service.status(jobId);
      if (stopped()) return;
      handlers.job(job, "poll");
      if (isTerminal(job)) {
        setState("ended");
        return;
      }
    } catch (err) {
      const error = err instanceof ServiceError ? err : new ServiceError("internal", String(err));
      handlers.error(error);
      if (error.code === "not_found" || error.code === "unauthorized") {
        setState("closed");
        return;
      }
    }
    later(poll, options.pollMs);
  };

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
      const ws = socket;
      socket = null;
      ws?.close(1000, "page left the job");
    },
  };
}

/** The browser's own WebSocket and timers. */
export const browserLiveDeps = (): LiveDeps => ({
  openSocket: (url) => new WebSocket(url) as unknown as SocketLike,
  setTimeout: (run, ms) => window.setTimeout(run, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
});
