// touchAfter: re-time an unchanged session at most once per window, deciding without Redis.
//
// The decision needs the session's current expiry in Redis. `get` reads it in the same round
// trip as the value and leaves it on `session.cookie` under EXPIRY_FIELD. express-session
// copies every property of that cookie onto the Cookie it gives `touch`, and never writes it
// back (its Cookie serializes only its own fields), so the mark travels from `get` to `touch`
// of the same request and is never stored.

import type {SessionData} from "express-session"

/** Unix milliseconds at which the session read by `get` expires in Redis. */
export const EXPIRY_FIELD = "expiresInStore"

type MarkedCookie = Record<string, unknown>

/** Leaves the expiry read from Redis on the session (`msLeft` < 0: it has none). */
export function markExpiry(session: SessionData, msLeft: number, now: number): void {
  const cookie = session.cookie as unknown as MarkedCookie
  if (msLeft >= 0) cookie[EXPIRY_FIELD] = now + msLeft
  else delete cookie[EXPIRY_FIELD]
}

/** Drops the mark, so that a session passed straight from `get` to `set` does not store it. */
export function unmarkExpiry(session: SessionData): void {
  const cookie = session.cookie as unknown as MarkedCookie | undefined
  if (cookie !== undefined && cookie !== null && EXPIRY_FIELD in cookie) delete cookie[EXPIRY_FIELD]
}

/**
 * True when re-timing the session to `ttlMs` from now would push its expiry in Redis
 * later by less than `windowMs`: then the touch can be skipped. Never true when the new
 * expiry is earlier (the session must not outlive its cookie) or when the expiry is unknown.
 */
export function touchCanWait(
  session: SessionData,
  ttlMs: number,
  windowMs: number,
  now: number,
): boolean {
  const known = (session.cookie as unknown as MarkedCookie)[EXPIRY_FIELD]
  if (typeof known !== "number") return false
  const later = now + ttlMs - known
  return later >= 0 && later < windowMs
}
