import {fileURLToPath} from "node:url"
import {defineConfig} from "vitest/config"

export default defineConfig({
  resolve: {
    // Examples import the package by name, as an app does; the tests run them on the source.
    alias: {"redis-session-store": fileURLToPath(new URL("./src/index.ts", import.meta.url))},
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Each test file starts its own redis-server processes; a cluster or a sentinel
    // set-up takes a moment to converge on a busy 2-core machine.
    hookTimeout: 60_000,
    testTimeout: 30_000,
  },
})
