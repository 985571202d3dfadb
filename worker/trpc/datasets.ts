import { DatasetByIdInput, UploadDatasetInput } from "../../schema/dataset";
import { getDataset, listDatasets, uploadDataset } from "../datasets/service";
import { router, tenantProcedure } from "./init";

/** The datasets domain: the same operations as REST /api/v1/datasets. */
export const datasetsRouter = router({
  upload: tenantProcedure.input(UploadDatasetInput).mutation(({ ctx, input }) => uploadDataset(ctx.job, input.name, input.csv)),
  list: tenantProcedure.query(({ ctx }) => listDatasets(ctx.job)),
  get: tenantProcedure.input(DatasetByIdInput).query(({ ctx, input }) => getDataset(ctx.job, input.id)),
});
