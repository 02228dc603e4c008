// Creation times and absoluteTimeout: a session ends `absoluteTimeout` seconds after it was
// created, however active it is (OWASP's absolute timeout; express-session has only the idle
// one).
//
// The creation time is kept in the session itself, as the field CREATED_AT_FIELD (Unix ms),
// written by the store's first write of that session id. Kept there, it travels with the
// session through express-session, @fastify/session, merges and serializers, and connect-redis
// reads the value as before (it sees one more field). The app sees that field too: it is
// what the store wrote, and documented. `regenerate` makes a new session, without the field:
// a new creation time.
//
// Enforcement costs no command: every write caps the session's life in Redis at what is left
// of the absolute time, so Redis itself removes it on time; `get` also refuses one past it
// (one stored before the option was on, or under a longer limit).

import type {SessionData} from "express-session"
import {describeValue} from "./keys.js"

/** The field of a stored session that holds when it was created (Unix milliseconds). */
export const CREATED_AT_FIELD = "sessionCreatedAt"

/** How far ahead of this clock a creation time may be (another server's clock). */
const CLOCK_SKEW_MS = 60_000

type Fields = Record<string, unknown>

/** When the session was created, or undefined when it does not say (a new session). */
export function createdAtOf(session: SessionData): number | undefined {
  return (session as unknown as Fields)[CREATED_AT_FIELD] as number | undefined
}

/** Creation times, and absoluteTimeout when it is on. */
export class Lifetime {
  /** @param absoluteMs the absolute timeout in milliseconds; 0 when off */
  constructor(readonly absoluteMs: number) {}

  /**
   * Before a write: the session's creation time, written onto it when it has none (this is
   * the first write of that session). A creation time that is not a plausible time is an
   * error: a made-up one would move the absolute timeout.
   */
  stamp(session: SessionData, now: number): number {
    const created = createdAtOf(session)
    if (created === undefined) {
      if (!Reflect.set(session, CREATED_AT_FIELD, now)) {
        throw new TypeError(
          `A new session must accept the field ${CREATED_AT_FIELD} (its creation time); this one is frozen`,
        )
      }
      return now
    }
    if (!isPlausible(created, now)) {
      throw new TypeError(
        `session.${CREATED_AT_FIELD} must be the Unix milliseconds it was created at; got ${describeValue(created)}`,
      )
    }
    return created
  }

  /**
   * The milliseconds the session may still live in Redis: `ttlMs` (undefined: no expiry),
   * capped by what is left of the absolute time. <= 0: over.
   */
  cap(ttlMs: number | undefined, created: number, now: number): number | undefined {
    if (this.absoluteMs === 0) return ttlMs
    const left = Math.min(created + this.absoluteMs - now, this.absoluteMs)
    return ttlMs === undefined ? left : Math.min(ttlMs, left)
  }

  /**
   * For a touch: `ttlMs` capped by what is left of the absolute time; 0 (the session is
   * deleted) when that is over or the creation time is not a plausible time.
   */
  forTouch(session: SessionData, ttlMs: number, now: number): number {
    if (this.absoluteMs === 0) return ttlMs
    const created = createdAtOf(session)
    if (created === undefined) return ttlMs
    if (!isPlausible(created, now)) return 0
    return Math.min(ttlMs, created + this.absoluteMs - now, this.absoluteMs)
  }

  /** True for a stored session `get` must not return: past its absolute time. */
  isOver(session: SessionData, now: number): boolean {
    if (this.absoluteMs === 0) return false
    const created = createdAtOf(session)
    // A session stored before creation times were kept has none: it gets one at its next save.
    if (created === undefined) return false
    return !isPlausible(created, now) || created + this.absoluteMs <= now
  }
}

function isPlausible(created: unknown, now: number): created is number {
  return (
    typeof created === "number" &&
    Number.isSafeInteger(created) &&
    created > 0 &&
    created <= now + CLOCK_SKEW_MS
  )
}
