import type {SessionData} from "express-session"
import {describeValue} from "./keys.js"

/** Seconds a session lives: a number, or a function of the session (connect-redis's `ttl`). */
export type TtlOption = number | ((session: SessionData) => number)

/** connect-redis's default: one day. */
export const DEFAULT_TTL_SECONDS = 86_400

/** Checks the `ttl` option once, at construction, so a typo fails loudly and early. */
export function validateTtlOption(ttl: unknown): TtlOption {
  if (ttl === undefined) return DEFAULT_TTL_SECONDS
  if (typeof ttl === "function") return ttl as (session: SessionData) => number
  if (typeof ttl === "number" && Number.isFinite(ttl) && ttl > 0) return Math.ceil(ttl)
  throw new TypeError(
    `options.ttl must be a positive number of seconds or a function of the session; got ${describeValue(ttl)}`,
  )
}

/**
 * How many whole milliseconds the session should still live in Redis, rounded up: a cookie
 * that expires at T leaves Redis at T, not up to a second later.
 *
 * A `ttl` function decides alone (it receives the session, cookie included; it answers in
 * seconds, as in connect-redis). Otherwise `cookie.expires` decides when it is set, and the
 * `ttl` number (seconds) when it is not. A result <= 0 means the session is over. Anything
 * that is not a finite number throws: writing a session with a made-up lifetime would be
 * worse than failing.
 */
export function sessionTtlMs(session: SessionData, ttl: TtlOption, now: number): number {
  if (typeof ttl === "function") {
    const seconds: unknown = ttl(session)
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) {
      throw new TypeError(
        `The ttl function must return a finite number of seconds; it returned ${describeValue(seconds)}`,
      )
    }
    return Math.ceil(seconds * 1000)
  }
  const expires: unknown = session.cookie?.expires
  if (expires === undefined || expires === null) return ttl * 1000
  return Math.ceil(expiryTime(expires) - now)
}

function expiryTime(expires: unknown): number {
  // A session read back from JSON carries `expires` as an ISO string, not a Date.
  const time =
    expires instanceof Date
      ? expires.getTime()
      : typeof expires === "string" || typeof expires === "number"
        ? new Date(expires).getTime()
        : Number.NaN
  if (Number.isNaN(time)) {
    throw new TypeError(`session.cookie.expires is not a valid date; got ${describeValue(expires)}`)
  }
  return time
}
