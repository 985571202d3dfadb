import { Hono } from "hono";
import type { AppEnv } from "../api/context";
import { loadConfig } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { sameSecret } from "../../lib/secrets";
import { bearerToken } from "../api/auth";
import { ALL_METRICS, TASKS_IN_FLIGHT, type Sample } from "../../lib/metrics/definitions";
import { renderPrometheus } from "./prometheus";

/** Counters as every job's DO has flushed them to D1, plus the in-flight gauge from the jobs' rows. */
export async function readSamples(db: D1Database): Promise<Sample[]> {
  const [counters, inFlight] = await db.batch<Sample | { n: number }>([
    db.prepare("SELECT name, labels, value FROM metric_counters"),
    db.prepare("SELECT COALESCE(SUM(running), 0) AS n FROM optimization_jobs WHERE status IN ('queued', 'running')"),
  ]);
  const n = (inFlight!.results[0] as { n: number }).n;
  return [...(counters!.results as Sample[]), { name: TASKS_IN_FLIGHT.name, labels: "", value: n }];
}

/** GET /metrics: Prometheus text, exact across isolates and restarts since it is read from D1. */
export const metricsRoute = new Hono<AppEnv>().get("/", async (c) => {
  const config = loadConfig(c.env);
  if (!config.METRICS_ENABLED) throw new ApiError("unavailable", "metrics are disabled (METRICS_ENABLED=false)");
  const token = bearerToken(c.req.header("authorization"));
  if (!config.METRICS_TOKEN || token === null || !(await sameSecret(token, config.METRICS_TOKEN))) throw new ApiError("unauthorized", "a valid metrics token is required");
  const text = renderPrometheus(ALL_METRICS, await readSamples(c.env.DB));
  return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});
