import type {SessionData} from "express-session"
import {describe, expect, it} from "vitest"
import {DEFAULT_TTL_SECONDS, sessionTtl, validateTtlOption} from "../src/ttl.js"

const now = Date.UTC(2026, 0, 1)
const withExpires = (expires: unknown) => ({cookie: {expires}}) as unknown as SessionData

describe("sessionTtl", () => {
  it("counts whole seconds to cookie.expires, rounded up", () => {
    expect(sessionTtl(withExpires(new Date(now + 1_000)), 10, now)).toBe(1)
    expect(sessionTtl(withExpires(new Date(now + 1_001)), 10, now)).toBe(2)
    expect(sessionTtl(withExpires(new Date(now + 1)), 10, now)).toBe(1)
  })

  it("reads expires given as an ISO string or a timestamp", () => {
    expect(sessionTtl(withExpires(new Date(now + 5_000).toISOString()), 10, now)).toBe(5)
    expect(sessionTtl(withExpires(now + 5_000), 10, now)).toBe(5)
  })

  it("gives 0 or less for a cookie that has expired", () => {
    expect(sessionTtl(withExpires(new Date(now)), 10, now)).toBe(0)
    expect(sessionTtl(withExpires(new Date(now - 3_000)), 10, now)).toBe(-3)
  })

  it("falls back to the ttl number without expires", () => {
    expect(sessionTtl(withExpires(null), 77, now)).toBe(77)
    expect(sessionTtl({} as SessionData, 77, now)).toBe(77)
  })

  it("lets a ttl function decide even when the cookie has expires", () => {
    expect(sessionTtl(withExpires(new Date(now + 9_000_000)), () => 30, now)).toBe(30)
    expect(sessionTtl(withExpires(null), () => 2.01, now)).toBe(3)
  })

  it.each([Number.NaN, Number.POSITIVE_INFINITY, "5", null, undefined])(
    "throws when the ttl function returns %s",
    (value) => {
      expect(() => sessionTtl(withExpires(null), () => value as number, now)).toThrow(TypeError)
    },
  )

  it.each(["tomorrow", new Date(Number.NaN), true, {}, Number.MAX_VALUE])(
    "throws for cookie.expires %s",
    (expires) => {
      expect(() => sessionTtl(withExpires(expires), 10, now)).toThrow(/not a valid date/)
    },
  )
})

describe("validateTtlOption", () => {
  it("defaults to one day", () => {
    expect(validateTtlOption(undefined)).toBe(DEFAULT_TTL_SECONDS)
    expect(DEFAULT_TTL_SECONDS).toBe(86_400)
  })

  it("rounds a fractional number up and keeps functions", () => {
    expect(validateTtlOption(1.5)).toBe(2)
    const fn = () => 1
    expect(validateTtlOption(fn)).toBe(fn)
  })

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, "3600", null, {}])("rejects %s", (ttl) => {
    expect(() => validateTtlOption(ttl)).toThrow(/options.ttl must be/)
  })
})
