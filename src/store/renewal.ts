// One round trip for a request that loads a session and changes nothing.
//
// express-session calls `get` at the start of such a request and `touch` at its end, which
// re-times the session to the cookie's life from then: two commands for every store. Here
// the read itself re-times the key (GETEX ... PX) to the life the store last gave a session
// on a touch or a save (apps give their sessions one maxAge, or the `ttl` option), and notes
// until when. The touch then sends nothing when that already holds: the key lives to the
// cookie's expiry or up to TOLERANCE_MS less, never past it. When the guess was off (a
// session of another maxAge, a ttl function, a slow request), the touch re-times it as before.
//
// @fastify/session saves the whole session on every request instead (its `rolling`), and
// builds its Session without the store's `createSession`. What `get` returned for a session
// id is kept while its request is in flight (InFlightReads), so that a save of the same data
// (only the cookie's expiry moved) is no rewrite: nothing is sent when the read's renewal
// holds, a re-time otherwise.
//
// Not with touchAfter (its read learns the expiry instead), absoluteTimeout (no read may push
// a session past creation + limit, and the creation time is inside the value), disableTouch
// or disableTTL (reads must not re-time), nor in redundant mode (no single step).

import {isNoted} from "./loaded-notes.js"

/** How much earlier than the touch would the read's renewal may end and still stand. */
const TOLERANCE_MS = 1000

/**
 * The read gives a session this much less than the life learned, rounded to GRAIN_MS: the
 * touch's own life is counted from later (the end of the request), so the renewal never ends
 * after the cookie, whatever the millisecond rounding of either; and the guess stays the same
 * number from one request to the next (a touch may count one millisecond less).
 */
const MARGIN_MS = 100
const GRAIN_MS = 100

/** The renewing read's guess of the life to give a session, learned from touches and saves. */
export class Renewal {
  /** The life (ms) a read gives a session; 0 until a touch or a save taught one. */
  guessMs = 0

  /** A touch or a save gave a session `ttlMs` to live (undefined: no expiry). */
  learn(ttlMs: number | undefined): void {
    if (ttlMs === undefined || ttlMs <= MARGIN_MS + GRAIN_MS) return
    this.guessMs = Math.round((ttlMs - MARGIN_MS) / GRAIN_MS) * GRAIN_MS
  }

  /**
   * True when the read's renewal (until `renewedUntil`, Unix ms; NaN: none) already does what
   * re-timing to `ttlMs` from `now` would: it ends no later, and at most TOLERANCE_MS sooner.
   */
  static covers(renewedUntil: number, ttlMs: number, now: number): boolean {
    const sooner = now + ttlMs - renewedUntil
    return sooner >= 0 && sooner <= TOLERANCE_MS
  }
}

/** What `get` returned for a session id, for a save that comes without `createSession`. */
export interface LoadedRead {
  /** The stored value exactly. */
  readonly raw: string
  /** The cookie as parsed from it: a save with this cookie and the same data is unchanged. */
  readonly cookie: unknown
  /** Unix ms until which the read made the key live; NaN when it did not re-time it. */
  readonly renewedUntil: number
  /** When it was read (Unix ms). */
  readonly at: number
}

/** About this many reads are kept (two generations of half as many): beyond, the oldest go. */
const MAX_IN_FLIGHT = 1000
/** A read older than this is no longer taken for its request's (a save then writes). */
const MAX_AGE_MS = 60_000

/**
 * Reads kept from `get` until the request's save, touch or destroy takes them. Bounded in
 * count and age, so a request that never saves leaves nothing behind for long. Kept only once
 * a save came with a session no read of this store noted (a framework that builds its
 * sessions without `createSession`, such as @fastify/session, or a new session), and never
 * again once `createSession` was called (express-session, whose Sessions carry the note).
 *
 * Two generations rather than one Map used as a queue: dropping a Map's oldest entry on every
 * read (a script that only reads) made V8 walk the holes its earlier deletions left, measured
 * at ~2.5 µs per `get`; a generation is dropped whole when the next one is full.
 */
export class InFlightReads {
  #current = new Map<string, LoadedRead>()
  #previous = new Map<string, LoadedRead>()
  /**
   * True once a save without a note showed that kept reads can be used. Until then keeping
   * them would only cost (a Map entry made and dropped per `get`, ~150 ns in the per-call
   * benchmark): a script that only reads, or reads and saves what `get` returned (noted).
   */
  #wanted = false
  /** True once `createSession` was called: the store serves express-session. */
  #ruledOut = false

  /** True while reads are kept (see #wanted): else `get` builds nothing to keep. */
  get wanted(): boolean {
    return this.#wanted
  }

  /** Called by `createSession`: reads need not be kept for this store any more. */
  notWanted(): void {
    if (this.#ruledOut) return
    this.#ruledOut = true
    this.#wanted = false
    this.#current = new Map()
    this.#previous = new Map()
  }

  remember(sid: string, read: LoadedRead): void {
    if (this.#current.size >= MAX_IN_FLIGHT / 2) {
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(sid, read)
  }

  /**
   * The read kept for `sid`, for a save of `session`, no longer kept; undefined when none (or
   * too old). A save of a session no read noted starts the keeping, unless ruled out.
   */
  take(sid: string, now: number, session: object): LoadedRead | undefined {
    if (!this.#wanted) {
      if (!this.#ruledOut && !isNoted(session)) this.#wanted = true
      return undefined
    }
    const read = this.#current.get(sid) ?? this.#previous.get(sid)
    if (read === undefined) return undefined
    this.forget(sid)
    return now - read.at <= MAX_AGE_MS ? read : undefined
  }

  forget(sid: string): void {
    if (!this.#wanted) return
    this.#current.delete(sid)
    if (this.#previous.size > 0) this.#previous.delete(sid)
  }

  /** How many reads are kept now. */
  get size(): number {
    return this.#current.size + this.#previous.size
  }
}
