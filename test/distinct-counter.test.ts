import {describe, expect, it} from "vitest"
import {DistinctCounter} from "../src/bulk/distinct-counter.js"

describe("DistinctCounter", () => {
  it("counts each distinct string once", () => {
    const counter = new DistinctCounter()
    for (const text of ["a", "b", "a", "c", "b", "a"]) counter.add(text)
    expect(counter.size).toBe(3)
  })

  it("tells apart strings that differ in one character, the empty string included", () => {
    const counter = new DistinctCounter()
    for (const text of ["", "sess:a", "sess:b", "sess:ab", "sess:ba", "Sess:a", "sess:a "]) {
      counter.add(text)
      counter.add(text)
    }
    expect(counter.size).toBe(7)
  })

  it("stays exact over many keys that share a long prefix, across table growth", () => {
    const counter = new DistinctCounter()
    const count = 200_000
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < count; i++) counter.add(`myapp:sess:${i.toString(36).padStart(24, "_")}`)
    }
    expect(counter.size).toBe(count)
  })
})
