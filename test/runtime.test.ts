// The CI matrix (.ci/matrix.sh) runs the suites on several runtimes and names each in its
// report line. This checks the name is true: the tests' own processes run on the runtime
// the matrix asked for (MATRIX_RUNTIME="node 22.23.5" or "bun 1.4.5"), not on whatever
// Node a tool found first on PATH.

import {describe, expect, it} from "vitest"

const expected = process.env.MATRIX_RUNTIME

/** The runtime this test process runs on, as the matrix names it. */
function currentRuntime(): string {
  const bun = (process.versions as Record<string, string | undefined>).bun
  return bun ? `bun ${bun}` : `node ${process.versions.node}`
}

describe("the runtime under test", () => {
  it("is named bun <version> or node <version>, and is the one the CI matrix asked for", () => {
    const current = currentRuntime()
    expect(current).toMatch(/^(bun|node) \d+\.\d+\.\d+$/)
    // Outside the matrix (npm test on a developer's machine) any runtime is the right one.
    if (expected !== undefined) expect(current).toBe(expected)
  })
})
