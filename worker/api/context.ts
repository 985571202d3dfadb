import type { Context } from "hono";
import { loadConfig } from "../../lib/config";
import type { Env } from "../env";
import type { JobContext } from "../jobs/service";
import { createLogger } from "../../lib/log";
import { tenantFromAuthorization } from "./auth";

export interface AppEnv {
  Bindings: Env;
  Variables: { requestId: string };
}

/** The tenant-scoped context every REST route and tRPC procedure runs with. */
export async function jobContext(c: Context<AppEnv>): Promise<JobContext> {
  const config = loadConfig(c.env);
  const tenant = await tenantFromAuthorization(c.req.header("authorization"), config);
  const log = createLogger({ level: config.LOG_LEVEL }).with({ tenant, requestId: c.get("requestId") });
  return { env: c.env, config, tenant, requestId: c.get("requestId"), log };
}
