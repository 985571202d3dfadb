import { router } from "./init";
import { optimizationsRouter } from "./optimizations";

export const appRouter = router({ optimizations: optimizationsRouter });
export type AppRouter = typeof appRouter;
