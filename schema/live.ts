import { z } from "zod";
import { Job, ParamValue, Task } from "./job";

/** Most bins a heatmap axis has: longer axes group neighbouring values, so a page never draws (or downloads) every task. */
export const MAX_HEATMAP_BINS = 100;

export const HeatmapAgg = z.enum(["max", "min", "mean"]);
export type HeatmapAgg = z.infer<typeof HeatmapAgg>;

/**
 * `GET /optimizations/:id/heatmap`: the objective over params x and y, each cell aggregating the
 * succeeded tasks whose x and y fall in it (the other params free, or fixed by `at`, a JSON object
 * of param values).
 */
export const HeatmapQuery = z.strictObject({
  x: z.string().min(1).max(64),
  y: z.string().min(1).max(64),
  agg: HeatmapAgg.default("max"),
  at: z.string().max(4_000).optional(),
});
export type HeatmapQuery = z.input<typeof HeatmapQuery>;

export const HeatmapAxis = z.object({
  name: z.string(),
  /** The first value of each bin, in grid order. */
  values: z.array(ParamValue),
  /** Grid values a bin groups (the last bin may hold fewer). */
  binSize: z.number().int().min(1),
  /** The axis' values in the grid. */
  size: z.number().int(),
});
export type HeatmapAxis = z.infer<typeof HeatmapAxis>;

/** A cell: x bin, y bin, aggregated objective, succeeded tasks in it. Cells without any are absent. */
export const HeatmapCell = z.tuple([z.number().int(), z.number().int(), z.number(), z.number().int()]);
export type HeatmapCell = z.infer<typeof HeatmapCell>;

export const Heatmap = z.object({
  x: HeatmapAxis,
  y: HeatmapAxis,
  agg: HeatmapAgg,
  /** The fixed values of other params, or null when they are aggregated. */
  at: z.record(z.string(), ParamValue).nullable(),
  metric: z.string(),
  mode: z.enum(["min", "max"]),
  /** Succeeded tasks counted. */
  finished: z.number().int(),
  cells: z.array(HeatmapCell),
});
export type Heatmap = z.infer<typeof Heatmap>;

/** `POST /optimizations/:id/live` answers a single-use WebSocket URL (its ticket valid 60 s; no key in it). */
export const LiveTicket = z.object({ url: z.string(), expiresAt: z.string() });
export type LiveTicket = z.infer<typeof LiveTicket>;

/** Seconds a live ticket stays valid. */
export const LIVE_TICKET_TTL_S = 60;

/**
 * What the job's DO sends on the live socket: a snapshot first (and last, when the job ends, after
 * which it closes the socket with 1000), updates coalesced to at most about ten a second, and the
 * subscribed heatmap's cells that changed (`full`: the whole heatmap, replacing what the client has).
 */
export const LiveServerMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("snapshot"), job: Job }),
  /** The job without its spec (which the snapshot carried): counts, Top-N, stats. */
  z.object({ type: z.literal("update"), job: Job.omit({ spec: true }) }),
  z.object({ type: z.literal("heatmap"), full: z.boolean(), heatmap: Heatmap }),
  z.object({ type: z.literal("error"), code: z.string(), message: z.string() }),
  /** The answer to a ping. */
  z.object({ type: z.literal("pong") }),
]);
export type LiveServerMessage = z.infer<typeof LiveServerMessage>;

/** What a client may send: subscribe to one heatmap (replacing any earlier subscription), or drop it. */
export const LiveClientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("heatmap"), x: HeatmapQuery.shape.x, y: HeatmapQuery.shape.y, agg: HeatmapAgg.default("max"), at: HeatmapQuery.shape.at }),
  z.object({ type: z.literal("unsubscribe") }),
  z.object({ type: z.literal("ping") }),
]);
export type LiveClientMessage = z.input<typeof LiveClientMessage>;

export { LIVE_PING, LIVE_PONG } from "./heartbeat";

export const ExportFormat = z.enum(["csv", "json"]);
export type ExportFormat = z.infer<typeof ExportFormat>;
/**
 * `GET /optimizations/:id/export`: every task in grid order, streamed. CSV columns: index, status,
 * attempt, one per param, one per metric (the objective's is the score; a metric named like an
 * earlier column is `metric.<name>`), errorKind, errorMessage. JSON: an array of
 * `{ index, status, attempt, params, score, metrics, errorKind, errorMessage }`.
 */
export const ExportQuery = z.strictObject({ format: ExportFormat.default("csv") });
export type ExportQuery = z.input<typeof ExportQuery>;

/** One task of a JSON export (an array of them): what CSV has as columns. */
export const ExportRecord = Task.pick({ index: true, status: true, attempt: true, params: true, score: true, metrics: true, errorKind: true, errorMessage: true });
export type ExportRecord = z.infer<typeof ExportRecord>;
