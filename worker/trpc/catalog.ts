import { ResultByIdInput } from "../../schema";
import { getResult, listStrategies } from "../api/catalog";
import { router, tenantProcedure } from "./init";

export const strategiesRouter = router({ list: tenantProcedure.query(({ ctx }) => listStrategies(ctx.job)) });
export const resultsRouter = router({ get: tenantProcedure.input(ResultByIdInput).query(({ ctx, input }) => getResult(ctx.job, input.id)) });
