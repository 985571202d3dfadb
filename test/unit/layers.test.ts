/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

/** Every source file of the top-level folders, as text (Vite reads them at build time). */
const sources = import.meta.glob(["../../{schema,lib,durable-objects,worker,client,web}/**/*.ts", "!**/*.d.ts"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;

const folderOf = (path: string): string => path.replace(/^(\.\.\/)+/, "").split("/")[0]!;

/** folder -> the top-level folders its files import from (type-only imports included: they couple too). */
function folderImports(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [path, text] of Object.entries(sources)) {
    const from = folderOf(path);
    const dir = path.split("/").slice(0, -1);
    for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const parts = [...dir];
      for (const seg of spec!.split("/")) {
        if (seg === "..") parts.pop();
        else if (seg !== ".") parts.push(seg);
      }
      const to = folderOf(parts.join("/"));
      if (to !== from && to !== "node_modules") edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return edges;
}

describe("the top-level folders", () => {
  it("are read from disk", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(50);
    expect(folderImports().get("worker")).toContain("durable-objects");
  });

  it("import one another without a cycle: what several use lives beneath them", () => {
    const edges = folderImports();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of edges.get(node) ?? []) {
        if (path.includes(next)) cycles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        else visit(next, [...path, next]);
      }
    };
    for (const node of edges.keys()) visit(node, [node]);
    expect(cycles).toEqual([]);
    // The layering itself: schema beneath everything, lib beneath the Worker and the Durable Object.
    expect([...(edges.get("schema") ?? [])]).toEqual([]);
    expect([...(edges.get("lib") ?? [])]).toEqual(["schema"]);
    expect([...(edges.get("durable-objects") ?? [])].sort()).toEqual(["lib", "schema"]);
  });
});
