import { router } from "./init";
import { datasetsRouter } from "./datasets";
import { optimizationsRouter } from "./optimizations";

export const appRouter = router({ optimizations: optimizationsRouter, datasets: datasetsRouter });
export type AppRouter = typeof appRouter;
