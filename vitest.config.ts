import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const migrations = await readD1Migrations("./schema/migrations");

/** One workerd project: the Worker from wrangler.toml with test settings, plus `vars` on top. */
const workersProject = (name: string, include: string[], vars: Record<string, string> = {}): TestProjectInlineConfiguration => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        queueConsumers: { "optimizer-tasks": { maxBatchTimeout: 0.02 } },
        bindings: {
          TEST_MIGRATIONS: migrations,
          API_KEYS: JSON.stringify({ "test-key-a": "tenant-a", "test-key-b": "tenant-b" }),
          ALLOW_SYNTHETIC: "true",
          MAX_TASKS_PER_JOB: "100000",
          RETRY_BASE_MS: "20",
          RETRY_CAP_MS: "200",
          D1_FLUSH_MS: "20",
          LOG_LEVEL: "off",
          METRICS_TOKEN: "test-metrics-token-0123456789",
          // Replays a failed property test (test/unit/job-core.property.test.ts prints both).
          FC_SEED: process.env.FC_SEED ?? "",
          FC_PATH: process.env.FC_PATH ?? "",
          ...vars,
        },
      },
    }),
  ],
  test: { name, include, setupFiles: ["./test/apply-migrations.ts", "./test/settle-jobs.ts"], testTimeout: 30_000 },
});

export default defineConfig({
  test: {
    projects: [
      workersProject("workers", ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"]),
      // The same Worker with metrics switched off: jobs must behave exactly the same.
      workersProject("metrics-off", ["test/metrics-off/**/*.test.ts"], { METRICS_ENABLED: "false" }),
      // In Node: the client (also run under Bun: `npm run test:bun`), the page's own logic with fakes for
      // fetch and WebSocket, and checks that need Node (the OpenAPI document's validator compiles code).
      {
        resolve: { alias: { "grid-optimizer/client": new URL("./client/index.ts", import.meta.url).pathname } },
        test: { name: "node", include: ["client/**/*.test.ts", "web/**/*.test.ts", "test/node/**/*.test.ts"], environment: "node" },
      },
      // A real headless Chromium (Debian's) driving the page against `wrangler dev`; one file at a time.
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // Installs Debian's Chromium if missing, builds the page, starts one `wrangler dev` for every file.
          globalSetup: ["./test/e2e/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
