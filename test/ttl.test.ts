import type {SessionData} from "express-session"
import {describe, expect, it} from "vitest"
import {DEFAULT_TTL_SECONDS, sessionTtlMs, validateTtlOption} from "../src/store/ttl.js"

const now = Date.UTC(2026, 0, 1)
const withExpires = (expires: unknown) => ({cookie: {expires}}) as unknown as SessionData

describe("sessionTtlMs", () => {
  it("counts the milliseconds to cookie.expires, not whole seconds", () => {
    expect(sessionTtlMs(withExpires(new Date(now + 1_000)), 10, now)).toBe(1_000)
    expect(sessionTtlMs(withExpires(new Date(now + 1_001)), 10, now)).toBe(1_001)
    expect(sessionTtlMs(withExpires(new Date(now + 1)), 10, now)).toBe(1)
  })

  it("reads expires given as an ISO string or a timestamp", () => {
    expect(sessionTtlMs(withExpires(new Date(now + 5_000).toISOString()), 10, now)).toBe(5_000)
    expect(sessionTtlMs(withExpires(now + 5_000), 10, now)).toBe(5_000)
  })

  it("gives 0 or less for a cookie that has expired", () => {
    expect(sessionTtlMs(withExpires(new Date(now)), 10, now)).toBe(0)
    expect(sessionTtlMs(withExpires(new Date(now - 3_000)), 10, now)).toBe(-3_000)
  })

  it("falls back to the ttl number without expires", () => {
    expect(sessionTtlMs(withExpires(null), 77, now)).toBe(77_000)
    expect(sessionTtlMs({} as SessionData, 77, now)).toBe(77_000)
  })

  it("lets a ttl function decide even when the cookie has expires", () => {
    expect(sessionTtlMs(withExpires(new Date(now + 9_000_000)), () => 30, now)).toBe(30_000)
    expect(sessionTtlMs(withExpires(null), () => 2.0101, now)).toBe(2_011)
  })

  it.each([Number.NaN, Number.POSITIVE_INFINITY, "5", null, undefined])(
    "throws when the ttl function returns %s",
    (value) => {
      expect(() => sessionTtlMs(withExpires(null), () => value as number, now)).toThrow(TypeError)
    },
  )

  it.each(["tomorrow", new Date(Number.NaN), true, {}, Number.MAX_VALUE])(
    "throws for cookie.expires %s",
    (expires) => {
      expect(() => sessionTtlMs(withExpires(expires), 10, now)).toThrow(/not a valid date/)
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
