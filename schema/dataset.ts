import { z } from "zod";

/** Largest CSV an upload may carry (REST body or the tRPC `csv` string, in UTF-8 bytes). */
export const DATASET_MAX_BYTES = 50 * 1024 * 1024;
/** Fewest bars an upload may have. */
export const DATASET_MIN_BARS = 50;
/**
 * Most bars an upload may have: the consumer keeps a dataset in memory as six Float64 columns
 * (48 bytes a bar), and a Worker isolate has 128 MB.
 */
export const DATASET_MAX_BARS = 1_000_000;

/** An upload's name: the tenant picks it; uploading the same name again makes a new version. */
export const DatasetName = z.string().regex(/^[a-z0-9-]{1,64}$/, "1 to 64 characters: a-z, 0-9 and -");
export type DatasetName = z.infer<typeof DatasetName>;

/**
 * How a job names its data: a built-in id (`sp500`, `eurusd`...), an upload's latest version
 * (`u-<name>`) or one version of it (`u-<name>@<version>`). Uploads resolve within the caller's
 * tenant only; a job is pinned to `u-<name>@<version>` when it is submitted.
 */
export const DatasetId = z.string().regex(/^(?:[a-z0-9-]{1,64}|u-[a-z0-9-]{1,64}(?:@[1-9][0-9]{0,8})?)$/, "a dataset id");
export type DatasetId = z.infer<typeof DatasetId>;

export const DatasetKind = z.enum(["builtin", "upload"]);
export type DatasetKind = z.infer<typeof DatasetKind>;

/** The columns a dataset has (besides date); close-only series read open = high = low = close, volume 0. */
export const DatasetColumn = z.enum(["open", "high", "low", "close", "volume"]);
export type DatasetColumn = z.infer<typeof DatasetColumn>;

/**
 * How far apart a dataset's bars are, detected from its dates (the median gap between bars):
 * `daily-trading` (trading days only, e.g. stocks and FX), `daily-calendar` (bars on weekends
 * too, e.g. crypto), `weekly`, `monthly`. Intraday data is refused.
 */
export const BarSpacing = z.enum(["daily-trading", "daily-calendar", "weekly", "monthly"]);
export type BarSpacing = z.infer<typeof BarSpacing>;

/** Bars a year of each spacing: what annualises volatility, Sharpe, Sortino and CAGR. */
export const BARS_PER_YEAR: Readonly<Record<BarSpacing, number>> = { "daily-trading": 252, "daily-calendar": 365, weekly: 52, monthly: 12 };

/** A dataset's spacing and the bars a year its metrics are annualised with. */
export const Annualisation = z.object({ spacing: BarSpacing, barsPerYear: z.number().int().positive() });
export type Annualisation = z.infer<typeof Annualisation>;

export const Dataset = z.object({
  /** What a job's `dataset` takes. For an upload, pinned to its version: `u-<name>@<version>`. */
  id: z.string(),
  kind: DatasetKind,
  name: z.string(),
  /** Uploads: 1, 2, ... per name; built-ins: null. */
  version: z.number().int().nullable(),
  /** Uploads: whether this is the newest version of its name (what `u-<name>` resolves to). */
  latest: z.boolean(),
  bars: z.number().int(),
  /** `YYYY-MM-DD` when every bar is at UTC midnight, else an ISO timestamp. */
  firstDate: z.string(),
  lastDate: z.string(),
  columns: z.array(DatasetColumn),
  /** Size of the uploaded CSV; null for built-ins. */
  bytes: z.number().int().nullable(),
  description: z.string().nullable(),
  /**
   * Built-ins, an upload's answer and `GET /datasets/:id`: the detected spacing. Uploads in a
   * listing: null (it is stored with the bars in R2, one read per dataset).
   */
  annualisation: Annualisation.nullable(),
  createdAt: z.string().nullable(),
});
export type Dataset = z.infer<typeof Dataset>;

export const DatasetList = z.object({ items: z.array(Dataset) });
export type DatasetList = z.infer<typeof DatasetList>;

/** REST: `POST /api/v1/datasets?name=<name>` with the CSV as the body. */
export const UploadDatasetQuery = z.strictObject({ name: DatasetName });
export type UploadDatasetQuery = z.infer<typeof UploadDatasetQuery>;

/**
 * tRPC `datasets.upload`. The CSV is checked by the same validator as REST (400 naming the line);
 * the request is held to the 1 MiB body limit (413 past it): larger files go through REST.
 */
export const UploadDatasetInput = z.strictObject({ name: DatasetName, csv: z.string() });
export type UploadDatasetInput = z.infer<typeof UploadDatasetInput>;

export const DatasetByIdInput = z.strictObject({ id: DatasetId });
export type DatasetByIdInput = z.infer<typeof DatasetByIdInput>;
