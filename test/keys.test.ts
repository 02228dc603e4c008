import calculateSlot from "cluster-key-slot"
import {describe, expect, it} from "vitest"
import {ownerIndexKey, seenKey} from "../src/owners/owner-index.js"
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

describe("seenKey: an owner's seen set shares its index's hash slot", () => {
  it.each([
    ["sess:", "42"], // no tag: the index key becomes the seen key's tag
    ["{app}:sess:", "42"], // the prefix's tag is kept
    ["sess:", "a}b"], // a "}" with no tag: a small number in the same slot
    ["sess:", "{}x}"], // an empty tag is no tag
    ["", "{owners:x}"], // a tag that names another owner's index
  ])("prefix %j, owner %j", (prefix, owner) => {
    const index = ownerIndexKey(prefix, owner)
    const seen = seenKey(index)
    expect(calculateSlot(seen)).toBe(calculateSlot(index))
    expect(seen.startsWith("owners-seen")).toBe(true)
    expect(seen).not.toBe(index)
  })

  it("gives different owners different seen keys, whatever their ids hold", () => {
    const owners = ["x", "{owners:x}", "{x}", "x}", "a}b", "{a}b", "42", "4{2}"]
    const seen = owners.map((owner) => seenKey(ownerIndexKey("", owner)))
    expect(new Set(seen).size).toBe(owners.length)
  })
})
