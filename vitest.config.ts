import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations("./schema/migrations");

export default defineConfig({
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
        },
      },
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    testTimeout: 30_000,
  },
});
