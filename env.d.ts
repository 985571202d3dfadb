// Types `env` and `exports` from "cloudflare:workers" with this project's bindings and entry module.
type ProjectEnv = import("./worker/env").Env;
declare namespace Cloudflare {
  interface Env extends ProjectEnv {
    /** Set by vitest.config.ts only. */
    TEST_MIGRATIONS?: unknown;
  }
  interface GlobalProps {
    mainModule: typeof import("./worker/index");
    durableNamespaces: "OptimizationJob";
  }
}
