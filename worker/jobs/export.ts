import Papa from "papaparse";
import type { ExportFormat, ExportRecord, Task } from "../../schema";
import { STRATEGIES } from "../engine/strategies";
import { ApiError } from "../../lib/errors";
import { getJob, listTasks, type JobContext } from "./service";

/** Tasks one page of the export reads from the job's DO (the most ListTasksQuery allows). */
const EXPORT_PAGE = 500;

export interface ExportStream {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  filename: string;
}

/**
 * Every task of a job in grid order, params and metrics as columns (CSV) or fields (JSON), streamed
 * page by page from the job's DO: the Worker holds one page at a time however large the job. The job
 * is looked up before answering, so an unknown one is a 404, not a broken stream.
 */
export async function exportTasks(ctx: JobContext, id: string, format: ExportFormat): Promise<ExportStream> {
  const job = await getJob(ctx, id);
  const params = Object.keys(job.spec.params);
  const metrics = [...(STRATEGIES[job.strategy]?.metrics ?? [])];
  // The score is the objective's metric, which has a column already. A metric named like another column gets a prefix.
  const taken = new Set(["index", "status", "attempt", "errorKind", "errorMessage", ...params]);
  const columns = ["index", "status", "attempt", ...params, ...metrics.map((m) => (taken.has(m) ? `metric.${m}` : m)), "errorKind", "errorMessage"];
  const row = (t: Task) => [t.index, t.status, t.attempt, ...params.map((p) => t.params[p]), ...metrics.map((m) => t.metrics?.[m] ?? null), t.errorKind, t.errorMessage];
  const record = (t: Task): ExportRecord => ({ index: t.index, status: t.status, attempt: t.attempt, params: t.params, score: t.score, metrics: t.metrics, errorKind: t.errorKind, errorMessage: t.errorMessage });
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let first = true;
  let done = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) {
        controller.close();
        return;
      }
      let page;
      try {
        page = await listTasks(ctx, id, { limit: EXPORT_PAGE, ...(cursor === undefined ? {} : { cursor }) });
      } catch (err) {
        ctx.log.error("api.export_failed", { jobId: id, message: err instanceof Error ? err.message : String(err) });
        controller.error(err instanceof ApiError ? err : new ApiError("unavailable", "export interrupted"));
        return;
      }
      cursor = page.nextCursor ?? undefined;
      done = page.nextCursor === null;
      let text: string;
      // A text cell starting with = + - @ is quoted with a leading ' so a spreadsheet shows it, never runs it.
      if (format === "csv") {
        const lines = page.items.length === 0 && !first ? "" : Papa.unparse({ fields: columns, data: page.items.map(row) }, { header: first, newline: "\r\n", escapeFormulae: true });
        text = (first || lines === "" ? "" : "\r\n") + lines;
      } else {
        const items = page.items.map((t) => JSON.stringify(record(t))).join(",\n");
        text = (first ? "[\n" : page.items.length > 0 ? ",\n" : "") + items + (done ? "\n]\n" : "");
      }
      if (format === "csv" && done) text += "\r\n";
      first = false;
      controller.enqueue(encoder.encode(text));
    },
  });
  return {
    body,
    contentType: format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
    filename: `optimization-${id}.${format}`,
  };
}
