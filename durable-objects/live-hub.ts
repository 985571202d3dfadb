import { LIVE_PING, LIVE_PONG, LiveClientMessage, TERMINAL_JOB_STATUSES, type HeatmapAgg, type Job, type LiveServerMessage } from "../schema";
import { ApiError } from "../lib/errors";
import type { HeatmapVersion, JobShell } from "./job-shell";

/** Least time between two updates on the live sockets: changes in between are coalesced into one. */
export const LIVE_UPDATE_MS = 100;
/** Sockets a job serves at once; one more is refused (each one costs the DO a send per update). */
export const MAX_LIVE_SOCKETS = 32;
const TAG = "live";

/** When to send the next coalesced update: now (0), or after the ms left in the current interval. */
export const liveDelay = (lastSentAt: number, now: number, intervalMs = LIVE_UPDATE_MS): number => Math.max(0, lastSentAt + intervalMs - now);

/** A socket's heatmap subscription, kept in its attachment so that it survives hibernation. */
interface Attachment {
  heatmap: { x: string; y: string; agg: HeatmapAgg; at?: string } | null;
}

/**
 * The job's live stream over hibernatable WebSockets: a snapshot on connect, updates coalesced to
 * one per LIVE_UPDATE_MS, the subscribed heatmap's changed cells, and a last snapshot when the job
 * ends, after which every socket is closed. Sockets outlive the object's memory (hibernation, a
 * restart): what a socket was last sent is kept in memory only, so after a wake it gets whole heatmaps.
 */
export class LiveHub {
  private lastSentAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Per socket, the heatmap version it was last sent. */
  private readonly heatmapSent = new WeakMap<WebSocket, HeatmapVersion>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly shell: () => JobShell,
    private readonly now: () => number,
  ) {
    // Heartbeats are answered by the runtime: a hibernated job is not woken (nor billed) by them.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LIVE_PING, LIVE_PONG));
  }

  /** Accepts an upgraded connection (its ticket already redeemed) and sends the snapshot; closes at once if the job has ended. */
  accept(): Response {
    const job = this.shell().status();
    if (!job) return new ApiError("not_found", "no such optimization").getResponse();
    if (this.ctx.getWebSockets(TAG).length >= MAX_LIVE_SOCKETS) return new ApiError("quota_exceeded", `at most ${MAX_LIVE_SOCKETS} live connections a job`).getResponse();
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [TAG]);
    server.serializeAttachment({ heatmap: null } satisfies Attachment);
    this.sendTo(server, { type: "snapshot", job });
    if (isEnded(job)) server.close(1000, "job ended");
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A step changed what clients see: send now, or once the current interval is over; at the end, at once. */
  changed(ended: boolean): void {
    if (this.ctx.getWebSockets(TAG).length === 0) return;
    if (ended) {
      this.flush();
      return;
    }
    if (this.timer !== null) return;
    const delay = liveDelay(this.lastSentAt, this.now());
    if (delay === 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), delay);
  }

  /** A client's message: a heatmap subscription (answered with the whole heatmap) or its end. */
  message(ws: WebSocket, data: string | ArrayBuffer): void {
    let parsed: LiveClientMessage | null = null;
    try {
      const result = LiveClientMessage.safeParse(JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)));
      if (result.success) parsed = result.data;
    } catch {
      parsed = null;
    }
    if (!parsed) {
      this.sendTo(ws, { type: "error", code: "bad_request", message: "expected {type: \"heatmap\", x, y, agg?, at?}, {type: \"unsubscribe\"} or {type: \"ping\"}" });
      return;
    }
    if (parsed.type === "ping") {
      // Reached only if the text differs from LIVE_PING (spacing): answered all the same.
      this.sendTo(ws, { type: "pong" });
      return;
    }
    if (parsed.type === "unsubscribe") {
      ws.serializeAttachment({ heatmap: null } satisfies Attachment);
      return;
    }
    const heatmap = { x: parsed.x, y: parsed.y, agg: parsed.agg ?? "max", ...(parsed.at === undefined ? {} : { at: parsed.at }) };
    const answer = this.shell().heatmap(heatmap);
    if (!answer) return;
    if (!answer.ok) {
      this.sendTo(ws, { type: "error", code: "validation_failed", message: answer.message });
      return;
    }
    ws.serializeAttachment({ heatmap } satisfies Attachment);
    this.heatmapSent.set(ws, answer.at);
    this.sendTo(ws, { type: "heatmap", full: true, heatmap: answer.heatmap });
  }

  /** Sends the coalesced update (a snapshot and a close once the job has ended) to every socket. */
  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.lastSentAt = this.now();
    const job = this.shell().status();
    if (!job) return;
    const ended = isEnded(job);
    const { spec: _spec, ...update } = job;
    for (const ws of this.ctx.getWebSockets(TAG)) {
      this.sendHeatmap(ws);
      this.sendTo(ws, ended ? { type: "snapshot", job } : { type: "update", job: update });
      if (ended) {
        try {
          ws.close(1000, "job ended");
        } catch {
          // Already closing.
        }
      }
    }
  }

  private sendHeatmap(ws: WebSocket): void {
    const { heatmap } = (ws.deserializeAttachment() ?? { heatmap: null }) as Attachment;
    if (!heatmap) return;
    const since = this.heatmapSent.get(ws);
    const answer = this.shell().heatmap(heatmap, since);
    if (!answer?.ok) return;
    this.heatmapSent.set(ws, answer.at);
    const full = since?.generation !== answer.at.generation;
    if (full || answer.heatmap.cells.length > 0) this.sendTo(ws, { type: "heatmap", full, heatmap: answer.heatmap });
  }

  private sendTo(ws: WebSocket, message: LiveServerMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // getWebSockets() may list a socket that is closing.
    }
  }
}

const isEnded = (job: Pick<Job, "status">): boolean => TERMINAL_JOB_STATUSES.includes(job.status);
