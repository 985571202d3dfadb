import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/log";

describe("JSON logs", () => {
  it("writes one JSON object a line with the event and the bound fields", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(l) }).with({ jobId: "j1", tenant: "t1" });
    log.info("task.retried", { taskId: "j1.3", attempt: 2, errorKind: "UpstreamError" });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", event: "task.retried", jobId: "j1", tenant: "t1", taskId: "j1.3", attempt: 2, errorKind: "UpstreamError" });
    expect(typeof JSON.parse(lines[0]!).ts).toBe("string");
  });

  it("drops lines below the level, and everything when off", () => {
    const lines: string[] = [];
    const info = createLogger({ level: "info", write: (l) => lines.push(l) });
    info.debug("chunk.dispatched");
    info.warn("chunk.lease_expired");
    const off = createLogger({ level: "off", write: (l) => lines.push(l) });
    off.error("job.ended");
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(["chunk.lease_expired"]);
  });
});
