import {defineConfig} from "tsup"

// ESM + CJS with a declaration file for each. tsup's declaration bundling needs the
// TypeScript compiler's JavaScript API, which the native compiler (typescript 7) does
// not have, so typescript stays pinned to 5.x in devDependencies.
export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // import.meta.url in the CommonJS build (the settings-built client loads \`redis\` with it).
  shims: true,
  // Peer dependencies are the user's own copies: never bundle them.
  external: ["express-session", "redis", "cluster-key-slot"],
})
