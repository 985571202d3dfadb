import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConnectionError } from "../errors";
import { OutputError } from "./exit-codes";
import { writeExport } from "./export-file";

const dir = mkdtempSync(path.join(tmpdir(), "gridopt-export-"));

/** An export that sends whole lines, then breaks as a dropped connection does. */
function breaksAfter(lines: string[]): Readable {
  return new Readable({
    read() {
      const next = lines.shift();
      if (next !== undefined) this.push(`${next}\n`);
      else this.destroy(new TypeError("terminated"));
    },
  });
}

describe("writeExport", () => {
  it("writes the whole export to the file, nothing beside it", async () => {
    const out = path.join(dir, "ok.csv");
    await writeExport(Readable.from(["index,a\n", "0,1\n", "1,2\n"]), out, "http://x");
    expect(readFileSync(out, "utf8")).toBe("index,a\n0,1\n1,2\n");
    expect(existsSync(`${out}.part`)).toBe(false);
  });

  it("a stream that breaks half way leaves no file (not even one that looks complete) and is a ConnectionError", async () => {
    const out = path.join(dir, "broken.csv");
    const failure = await writeExport(breaksAfter(["index,a", "0,1"]), out, "http://x").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectionError);
    expect((failure as Error).message).toMatch(/export stream broke: terminated/);
    expect([existsSync(out), existsSync(`${out}.part`)]).toEqual([false, false]);
  });

  it("a file that cannot be written is an OutputError naming it", async () => {
    const out = path.join(dir, "no-such-dir", "x.csv");
    const failure = await writeExport(Readable.from(["index\n"]), out, "http://x").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OutputError);
    expect((failure as Error).message).toContain(`cannot write ${out}`);
  });

  it("to stdout: every chunk in order; a break is a ConnectionError after what arrived", async () => {
    const stdout = new PassThrough();
    let seen = "";
    stdout.on("data", (c: Buffer) => (seen += c.toString()));
    await expect(writeExport(breaksAfter(["index,a", "0,1"]), undefined, "http://x", stdout)).rejects.toBeInstanceOf(ConnectionError);
    expect(seen).toBe("index,a\n0,1\n");
  });
});
