import { Hono } from "hono";
import type { AppEnv } from "./context";
import { openApiDocument } from "./openapi";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type Operation = { summary?: string; security?: unknown[]; parameters?: { name: string; in: string; required: boolean; schema: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }> };

/** The document as a page a person reads: one section an operation, its parameters, body and answers. */
export function renderReference(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const schema = (s: unknown) => `<details><summary>schema</summary><pre>${escape(JSON.stringify(s, null, 2))}</pre></details>`;
  const sections = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
      const auth = op.security && op.security.length > 0 ? Object.keys(op.security[0] as object)[0] : "none";
      const params = (op.parameters ?? []).map((p) => `<tr><td><code>${escape(p.name)}</code></td><td>${p.in}</td><td>${p.required ? "yes" : "no"}</td><td>${schema(p.schema)}</td></tr>`).join("");
      const body = op.requestBody ? Object.entries(op.requestBody.content).map(([type, c]) => `<p>Body <code>${escape(type)}</code></p>${schema(c.schema)}`).join("") : "";
      const answers = Object.entries(op.responses)
        .map(([status, r]) => `<li><strong>${escape(status)}</strong> ${escape(r.description)}${Object.entries(r.content ?? {}).map(([type, c]) => ` <code>${escape(type)}</code>${schema(c.schema)}`).join("")}</li>`)
        .join("");
      return `<section id="${id}"><h2><span class="method">${method.toUpperCase()}</span> <code>${escape(path)}</code></h2><p>${escape(op.summary ?? "")} · auth: ${escape(auth ?? "none")}</p>${params ? `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr></thead><tbody>${params}</tbody></table>` : ""}${body}<ul>${answers}</ul></section>`;
    }),
  );
  const info = doc.info as { title: string; description: string; version: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(info.title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1d232b}section{border-top:1px solid #d7dce2;padding:.5rem 0}.method{font:600 .85rem ui-monospace,monospace;background:#e7f5ff;padding:.1rem .4rem;border-radius:4px}pre{background:#f7f8fa;padding:.5rem;overflow-x:auto;font-size:.8rem}table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2rem .5rem;text-align:left;vertical-align:top}</style></head>
<body><h1>${escape(info.title)} <small>${escape(info.version)}</small></h1><p>${escape(info.description)} The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>${sections.join("\n")}</body></html>`;
}

/** The API's reference, public (no key): the OpenAPI document and the page made from it. */
export const referenceRoutes = new Hono<AppEnv>()
  .get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)))
  .get("/docs", (c) =>
    c.html(renderReference(openApiDocument(new URL(c.req.url).origin)), 200, {
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    }),
  );
