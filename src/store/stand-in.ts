// whileUnavailable "no-session": during a known outage a read answers a stand-in, a session
// with nothing in it but a cookie, rather than null. A framework given null starts a new
// session under a new id, and @fastify/session then clears the browser's cookie: the user
// would stay logged out after the outage. Given the stand-in, it keeps the id and the cookie,
// serves the request as anonymous, and its rolling save of the same empty session is skipped
// (there is nothing to save); a save with data in it fails at once, as every write does then.

import type {SessionData} from "express-session"

/** A session with no data; its cookie lives `lifeMs` (0: a browser-session cookie). */
export function standInSession(lifeMs: number, now: number): SessionData {
  const cookie =
    lifeMs > 0
      ? {originalMaxAge: lifeMs, expires: new Date(now + lifeMs).toISOString()}
      : {originalMaxAge: null}
  return {cookie} as unknown as SessionData
}

/** True for a session with nothing in it but its cookie (as the stand-in is). */
export function holdsNothing(session: SessionData): boolean {
  for (const key in session) {
    if (key !== "cookie" && Object.hasOwn(session, key)) return false
  }
  return true
}
