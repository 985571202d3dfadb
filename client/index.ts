/**
 * The optimizer's client for web apps, scripts and the CLI: `grid-optimizer/client`. It pulls in no
 * Worker code: the Worker's router is imported for its type only.
 */
export { WATCH_LIVE_OPTIONS, createOptimizerClient, type OptimizerClient, type WatchOptions, type WatchUpdate } from "./optimizer";
export { createTrpcClient, type TrpcClient, type AppRouter } from "./trpc";
export { ApiRequestError, ConnectionError, apiErrorOf, toClientError } from "./errors";
export { TimeoutError, DEFAULT_TIMEOUT_MS } from "./timeout";
export { cancelOptimization, exportTasks, uploadDataset, type CancelOutcome, type OptimizerClientOptions } from "./rest";
export { watchJob, defaultLiveDeps, DEFAULT_LIVE_OPTIONS, type LiveDeps, type LiveHandlers, type LiveJob, type LiveOptions, type LiveState, type LiveWatch, type SocketLike } from "./live";
export { TERMINAL_JOB_STATUSES, isTerminalStatus } from "../schema/status";
export type * from "../schema/job";
export type * from "../schema/live";
export type { StrategyInfo, StrategyList, StrategyParamInfo } from "../schema/catalog";
export type { Dataset, DatasetList } from "../schema/dataset";
export type { ResultSummary, EquityPoint, TradeRecord } from "../schema/result";
export type { ApiErrorBody, ApiErrorIssue, ApiErrorCode } from "../schema/errors";
