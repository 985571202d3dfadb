import { router } from "./init";
import { resultsRouter, strategiesRouter } from "./catalog";
import { datasetsRouter } from "./datasets";
import { optimizationsRouter } from "./optimizations";

export const appRouter = router({
  optimizations: optimizationsRouter,
  datasets: datasetsRouter,
  strategies: strategiesRouter,
  results: resultsRouter,
});
export type AppRouter = typeof appRouter;
