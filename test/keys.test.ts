import {describe, expect, it} from "vitest"
import {assertSid, escapeGlob, prefixPattern} from "../src/store/keys.js"

describe("escapeGlob", () => {
  it.each([
    ["sess:", "sess:"],
    ["app[1]:", "app\\[1\\]:"],
    ["s*", "s\\*"],
    ["a?:", "a\\?:"],
    ["b\\:", "b\\\\:"],
    ["[*?]\\", "\\[\\*\\?\\]\\\\"],
    ["{tag}:x^-!", "{tag}:x^-!"],
  ])("escapes %j as %j", (text, escaped) => {
    expect(escapeGlob(text)).toBe(escaped)
  })

  it("builds the SCAN pattern for a prefix", () => {
    expect(prefixPattern("app[1]:")).toBe("app\\[1\\]:*")
    expect(prefixPattern("")).toBe("*")
  })
})

describe("assertSid", () => {
  it("accepts any non-empty string", () => {
    expect(() => assertSid("x")).not.toThrow()
    expect(() => assertSid("*?[]\n ")).not.toThrow()
  })

  it.each(["", 1, null, undefined, {}, ["a"]])("rejects %j", (sid) => {
    expect(() => assertSid(sid)).toThrow(TypeError)
  })

  it("never puts the sid in the message", () => {
    expect(() => assertSid(12345)).toThrow(/the number 12345/)
    expect(() => assertSid({secret: "s3cr3t"})).not.toThrow(/s3cr3t/)
  })
})
