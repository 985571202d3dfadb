import { cac } from "cac";
import { describe, expect, it } from "vitest";
import { withTextFlags } from "./text-flags";

const parse = (argv: string[]) => {
  const cli = cac("gridopt");
  cli.command("submit").option("--idempotency-key <key>", "").option("--api-key <key>", "").option("--name <name>", "").option("--top-n <n>", "");
  const parsed = cli.parse(["node", "gridopt", ...argv], { run: false });
  return { cac: parsed.options, restored: withTextFlags(argv, parsed.options) };
};

describe("text flags", () => {
  it("keep the text cac would have turned into a number; numeric flags stay numbers", () => {
    const { cac: raw, restored } = parse(["submit", "--idempotency-key", "007", "--api-key=0123", "--name", "1e3", "--top-n", "5"]);
    expect([raw.idempotencyKey, raw.apiKey, raw.name]).toEqual([7, 123, 1000]);
    expect([restored.idempotencyKey, restored.apiKey, restored.name, restored.topN]).toEqual(["007", "0123", "1e3", 5]);
  });

  it("a flag without its value stays without one (as cac parsed it), never taking the next flag or --", () => {
    const { cac: raw, restored } = parse(["submit", "--name", "--api-key", "-5"]);
    expect(restored.name).toBe(raw.name);
    expect(restored.name).not.toBe("--api-key");
    expect(parse(["submit", "--name", "--", "--name", "x"]).restored.name).toBe(parse(["submit", "--name", "--"]).cac.name);
    expect(parse(["submit", "--name", "7", "--name"]).restored.name).toEqual(parse(["submit", "--name", "7", "--name"]).cac.name);
  });

  it("take the last of a flag given twice, and leave what follows -- alone", () => {
    const { restored } = parse(["submit", "--name", "1", "--name", "02", "--", "--name", "3"]);
    expect(restored.name).toBe("02");
  });
});
