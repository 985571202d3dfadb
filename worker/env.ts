import type { OptimizationJob } from "../durable-objects/optimization-job";
import type { SharedEnv } from "../lib/env";

/** The Worker's bindings, with the job namespace typed by its class. */
export interface Env extends SharedEnv {
  OPTIMIZATION_JOB: DurableObjectNamespace<OptimizationJob>;
}
