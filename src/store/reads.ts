// The read path: `get`, from a key to the session express-session gets, with the time
// bound (the client layer), the serializer, touchAfter's expiry note, the absolute timeout
// and the merge's note of what was loaded. A traced read (someone listens to the
// diagnostics channels) takes a path of its own, which also says how the read ended.

import type {SessionData} from "express-session"
import {byteSize, type OperationTrace} from "../diagnostics/trace.js"
import type {Gate} from "../redis/gate.js"
import type {SessionClient, Tombstoned} from "../redis/index.js"
import type {SessionCodec} from "./codec.js"
import {sidError} from "./keys.js"
import type {Lifetime} from "./lifetime.js"
import {noteRead} from "./loaded-notes.js"
import type {MergingWriter} from "./merge.js"
import type {InFlightReads, Renewal} from "./renewal.js"
import {standInSession} from "./stand-in.js"
import {markExpiry} from "./touch-after.js"

/** What the read path works with, built once with the store. */
export interface ReadParts {
  readonly prefix: string
  readonly touchAfter: number
  readonly redis: SessionClient
  readonly codec: SessionCodec
  /** Saves with concurrentWrites "merge"; undefined for "overwrite". */
  readonly merging: MergingWriter | undefined
  /** Creation times (with `owner` or `absoluteTimeout`); undefined when not kept. */
  readonly lifetime: Lifetime | undefined
  /** The renewing read's guess; undefined when reads must not re-time (renewal.ts). */
  readonly renewal: Renewal | undefined
  /** Reads kept for saves that come without createSession; undefined when not kept. */
  readonly inFlight: InFlightReads | undefined
  /** whileUnavailable "no-session": while this is shut, a read is a stand-in (stand-in.ts). */
  readonly unavailable: Gate | undefined
}

type Reply = string | null | Tombstoned
type Finished = SessionData | null | Promise<SessionData | null>

export class SessionReads {
  readonly #parts: ReadParts
  /** True when a read session needs a look before `get` returns it (a note, a time check). */
  readonly #needCare: boolean
  /** A GET reply as a session. Not a string: nothing there, or a tombstone (destroyed). */
  readonly #reply: (raw: Reply, key: string) => Finished
  /** The same for a GETEX reply, with the life it gave; remade when the guess changes. */
  #renewed: {ttlMs: number; reply: (raw: Reply, key: string) => Finished} | undefined

  constructor(parts: ReadParts) {
    this.#parts = parts
    this.#needCare =
      parts.merging !== undefined ||
      (parts.lifetime?.absoluteMs ?? 0) > 0 ||
      parts.renewal !== undefined ||
      parts.inFlight !== undefined
    this.#reply = this.#replyFor(Number.NaN)
  }

  /** `store.get`: see its documentation. `trace` only while someone listens. */
  get(sid: string, trace?: OperationTrace): Promise<SessionData | null> {
    // The client layer's one promise is returned as it is (this is no async function
    // awaiting it): get runs on every request, and each promise costs.
    if (typeof sid !== "string" || sid.length === 0) return Promise.reject(sidError(sid))
    const {prefix, touchAfter, redis, renewal, unavailable} = this.#parts
    if (unavailable?.shut) {
      if (trace !== undefined) trace.outcome = "unavailable"
      return Promise.resolve(standInSession(renewal?.guessMs ?? 0, Date.now()))
    }
    const key = prefix + sid
    if (touchAfter > 0) return this.#getWithExpiry(key, sid, trace)
    const ttlMs = renewal?.guessMs ?? 0
    if (ttlMs > 0 && redis.readRenewing !== undefined) {
      if (trace !== undefined) {
        const reply = (raw: Reply, at: string) => this.#tracedReply(raw, at, trace, ttlMs)
        return redis.readRenewing(key, ttlMs, reply, trace)
      }
      if (this.#renewed?.ttlMs !== ttlMs) this.#renewed = {ttlMs, reply: this.#replyFor(ttlMs)}
      return redis.readRenewing(key, ttlMs, this.#renewed.reply)
    }
    if (trace === undefined) return redis.read(key, this.#reply)
    return redis.read(key, (raw, at) => this.#tracedReply(raw, at, trace, Number.NaN), trace)
  }

  /** What turns a reply into a session, for a read that gave the key `renewedMs` (or NaN). */
  #replyFor(renewedMs: number): (raw: Reply, key: string) => Finished {
    return (raw, key) => {
      if (typeof raw !== "string") return null
      const read = this.#parts.codec.readAt(raw, key, this.#parts.prefix.length)
      if (!this.#needCare || read === null) return read
      if (read instanceof Promise) {
        return read.then((session) => session && this.#loaded(session, key, raw, renewedMs))
      }
      return this.#loaded(read, key, raw, renewedMs)
    }
  }

  /** For touchAfter: the value and its expiry in one round trip, the expiry left on it. */
  async #getWithExpiry(
    key: string,
    sid: string,
    trace: OperationTrace | undefined,
  ): Promise<SessionData | null> {
    const found = await this.#parts.redis.readWithLife(key, trace)
    if (found === null) {
      if (trace !== undefined) trace.outcome ??= "miss"
      return null
    }
    if (trace !== undefined) trace.bytes = byteSize(found.value)
    const session = await this.#parts.codec.read(found.value, sid)
    if (session === null) return unreadable(trace)
    markExpiry(session, found.ttlMs, Date.now())
    return judged(this.#loaded(session, key, found.value), trace)
  }

  /** As #reply, noting on the trace how the read ended. */
  #tracedReply(raw: Reply, key: string, trace: OperationTrace, renewedMs: number) {
    if (typeof raw !== "string") {
      trace.outcome = raw === null ? "miss" : "logged-out"
      return null
    }
    trace.bytes = byteSize(raw)
    const read = this.#parts.codec.readAt(raw, key, this.#parts.prefix.length)
    const settle = (session: SessionData | null) =>
      session === null
        ? unreadable(trace)
        : judged(this.#loaded(session, key, raw, renewedMs), trace)
    return read instanceof Promise ? read.then(settle) : settle(read)
  }

  /**
   * A session read from `key` as `get` returns it: null once past its absolute time; else
   * noted (what it was loaded from, until when the read made it live) for its save or touch.
   */
  #loaded(
    session: SessionData,
    key: string,
    raw: string,
    renewedMs: number = Number.NaN,
  ): SessionData | null {
    const {lifetime, merging, renewal, inFlight, prefix} = this.#parts
    const keep = inFlight?.wanted === true
    // Read after the reply came: the key's new life began no later than this. (The clock is
    // read only when needed: get runs on every request.)
    const now = keep || renewedMs > 0 || lifetime !== undefined ? Date.now() : 0
    if (lifetime?.isOver(session, now)) return null
    const renewedUntil = renewedMs > 0 ? now + renewedMs : Number.NaN
    if (keep) {
      const {cookie} = session
      inFlight.remember(key.slice(prefix.length), {raw, cookie, renewedUntil, at: now})
    }
    if (merging === undefined && renewal === undefined) return session
    return noteRead(session, key, merging === undefined ? undefined : raw, renewedUntil)
  }
}

function unreadable(trace: OperationTrace | undefined): null {
  if (trace !== undefined) trace.outcome = "unreadable"
  return null
}

/** A parsed session's outcome: null here means it was past its absolute time. */
function judged(session: SessionData | null, trace: OperationTrace | undefined) {
  if (trace !== undefined) trace.outcome = session === null ? "expired" : "hit"
  return session
}
