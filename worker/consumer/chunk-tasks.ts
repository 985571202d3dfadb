import type { GridSpec, ParamSet, TaskChunkMessage } from "../../schema";
import { createAdmittedGrid, type Grid } from "../../lib/grid";

export interface ChunkTask {
  index: number;
  attempt: number;
  params: ParamSet;
}

/** A chunk's tasks in the order the consumer runs and reports them: its range, then its listed tasks. */
export function* chunkTasks(chunk: TaskChunkMessage, grid: Grid): Generator<ChunkTask> {
  if (chunk.range) {
    const to = Math.min(chunk.range.to, grid.size);
    for (let index = grid.nextAccepted(chunk.range.from); index < to; index = grid.nextAccepted(index + 1)) {
      yield { index, attempt: 1, params: grid.paramsAt(index) };
    }
  }
  // An index past the grid is not the job's task: left unreported, the DO fails it at the chunk's end.
  for (const t of chunk.tasks) if (t.index < grid.size) yield { index: t.index, attempt: t.attempt, params: grid.paramsAt(t.index) };
}

/** Jobs' grids an isolate keeps, by tenant and job id: a job's chunks then fetch its grid once. */
export interface GridCache {
  get(tenant: string, jobId: string): Grid | undefined;
  put(tenant: string, jobId: string, spec: GridSpec): Grid;
}

/** A least-recently-used cache of `capacity` grids (each a few axes and, with constraints, their index). */
export function createGridCache(capacity = 16): GridCache {
  const grids = new Map<string, Grid>();
  const keyOf = (tenant: string, jobId: string) => `${tenant}\u0000${jobId}`;
  return {
    get(tenant, jobId) {
      const key = keyOf(tenant, jobId);
      const grid = grids.get(key);
      if (grid) {
        grids.delete(key);
        grids.set(key, grid);
      }
      return grid;
    },
    put(tenant, jobId, spec) {
      const grid = createAdmittedGrid(spec.params, spec.constraints);
      grids.set(keyOf(tenant, jobId), grid);
      while (grids.size > capacity) grids.delete(grids.keys().next().value!);
      return grid;
    },
  };
}
