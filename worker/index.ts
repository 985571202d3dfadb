import { createApp } from "./app";
import { handleQueueBatch } from "./consumer/queue-handler";
import type { Env } from "./env";

export { OptimizationJob } from "../durable-objects/optimization-job";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleQueueBatch(batch, env),
} satisfies ExportedHandler<Env>;
