import type {SessionData} from "express-session"

declare module "express-session" {
  interface SessionData {
    user?: {id: number; name: string}
    cart?: number[]
    views?: number
    /** Written by the store with owner or absoluteTimeout (docs/devices.md). */
    sessionCreatedAt?: number
  }
}

let counter = 0

/** A prefix no other test uses, free of glob characters. */
export function uniquePrefix(label = "t"): string {
  counter += 1
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}:`
}

/** A realistic session: a cookie with expires, a user object and a small array. */
export function makeSession(maxAgeMs: number | null = 60_000, extra: Partial<SessionData> = {}) {
  const cookie = {
    originalMaxAge: maxAgeMs,
    expires: maxAgeMs === null ? null : new Date(Date.now() + maxAgeMs),
    httpOnly: true,
    path: "/",
  }
  return {cookie, user: {id: 7, name: "Ada"}, cart: [1, 2, 3], ...extra} as SessionData
}

/** What a session looks like once it went through JSON (expires becomes a string). */
export function asStored(session: SessionData): unknown {
  return JSON.parse(JSON.stringify(session))
}
