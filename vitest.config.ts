import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, not a previous build.
    alias: {
      "@notification-service/domain": pkg("domain"),
      "@notification-service/core": pkg("core"),
      "@notification-service/migrations": pkg("migrations"),
      "@notification-service/server": pkg("server"),
      "@notification-service/workers": pkg("workers")
    }
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts"],
      exclude: ["packages/*/src/bin/**", "packages/*/src/main.ts"],
      reporter: ["text-summary", "text", "json-summary"],
      thresholds: { lines: 80 }
    }
  }
})
