import { createWriteStream, renameSync, rmSync } from "node:fs";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ConnectionError } from "../errors";
import { OutputError } from "./exit-codes";

const streamBroke = (url: string, err: unknown) => new ConnectionError(url, new Error(`the export stream broke: ${err instanceof Error ? err.message : String(err)}`));

/**
 * Streams an export to stdout or to a file. A file is written beside its name and renamed once the
 * whole export has arrived, so a stream that breaks half way never leaves a file that looks complete.
 */
export async function writeExport(body: Readable, output: string | undefined, url: string, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!output) {
    const sink = new Writable({ write: (chunk, _enc, done) => (stdout.write(chunk) ? done() : stdout.once("drain", done)) });
    await pipeline(body, sink).catch((err: unknown) => {
      throw streamBroke(url, err);
    });
    return;
  }
  const partial = `${output}.part`;
  const cannotWrite = (err: unknown) => new OutputError(`cannot write ${output}: ${err instanceof Error ? err.message : String(err)}`);
  const file = createWriteStream(partial);
  // pipeline passes an error on to every stream: the one that failed first says which side it was.
  let failedFirst: "body" | "file" | null = null;
  body.once("error", () => (failedFirst ??= "body"));
  file.once("error", () => (failedFirst ??= "file"));
  try {
    await pipeline(body, file);
  } catch (err) {
    rmSync(partial, { force: true });
    throw failedFirst === "file" ? cannotWrite(err) : streamBroke(url, err);
  }
  try {
    renameSync(partial, output);
  } catch (err) {
    rmSync(partial, { force: true });
    throw cannotWrite(err);
  }
  process.stderr.write(`wrote ${output}\n`);
}
