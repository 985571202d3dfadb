import { DatasetByIdInput, UploadDatasetInput } from "../../schema/dataset";
import { utf8Length } from "../datasets/csv";
import { getDataset, listDatasets, uploadDataset } from "../datasets/service";
import { withUploadQuota } from "../quota/uploads";
import { router, tenantProcedure } from "./init";

/**
 * The datasets domain: the same operations as REST /api/v1/datasets. An upload's request is held
 * to the global 1 MiB body limit (tRPC parses its JSON whole); REST streams files up to 50 MiB.
 */
export const datasetsRouter = router({
  upload: tenantProcedure
    .input(UploadDatasetInput)
    .mutation(({ ctx, input }) => withUploadQuota(ctx.job, utf8Length(input.csv), () => uploadDataset(ctx.job, input.name, input.csv))),
  list: tenantProcedure.query(({ ctx }) => listDatasets(ctx.job)),
  get: tenantProcedure.input(DatasetByIdInput).query(({ ctx, input }) => getDataset(ctx.job, input.id)),
});
