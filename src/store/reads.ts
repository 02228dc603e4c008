// The read path: `get`, from a key to the session express-session gets, with the time
// bound (the client layer), the serializer, touchAfter's expiry note, the absolute timeout
// and the merge's note of what was loaded. A traced read (someone listens to the
// diagnostics channels) takes a path of its own, which also says how the read ended.

import type {SessionData} from "express-session"
import {byteSize, type OperationTrace} from "../diagnostics/trace.js"
import type {SessionClient, Tombstoned} from "../redis/index.js"
import type {SessionCodec} from "./codec.js"
import {sidError} from "./keys.js"
import type {Lifetime} from "./lifetime.js"
import {noteRead} from "./loaded-notes.js"
import type {MergingWriter} from "./merge.js"
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
}

export class SessionReads {
  readonly #parts: ReadParts
  /** True when a read session needs a look before `get` returns it (a mark, a time check). */
  readonly #needCare: boolean
  /** A GET reply as a session. Not a string: nothing there, or a tombstone (destroyed). */
  readonly #reply = (raw: string | null | Tombstoned, key: string) => {
    if (typeof raw !== "string") return null
    const read = this.#parts.codec.readAt(raw, key, this.#parts.prefix.length)
    if (!this.#needCare || read === null) return read
    if (read instanceof Promise) {
      return read.then((session) => session && this.#loaded(session, key, raw))
    }
    return this.#loaded(read, key, raw)
  }

  constructor(parts: ReadParts) {
    this.#parts = parts
    this.#needCare = parts.merging !== undefined || (parts.lifetime?.absoluteMs ?? 0) > 0
  }

  /** `store.get`: see its documentation. `trace` only while someone listens. */
  get(sid: string, trace?: OperationTrace): Promise<SessionData | null> {
    // The client layer's one promise is returned as it is (this is no async function
    // awaiting it): get runs on every request, and each promise costs.
    if (typeof sid !== "string" || sid.length === 0) return Promise.reject(sidError(sid))
    const key = this.#parts.prefix + sid
    if (this.#parts.touchAfter > 0) return this.#getWithExpiry(key, sid, trace)
    if (trace === undefined) return this.#parts.redis.read(key, this.#reply)
    return this.#parts.redis.read(key, (raw, at) => this.#tracedReply(raw, at, trace), trace)
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
  #tracedReply(raw: string | null | Tombstoned, key: string, trace: OperationTrace) {
    if (typeof raw !== "string") {
      trace.outcome = raw === null ? "miss" : "logged-out"
      return null
    }
    trace.bytes = byteSize(raw)
    const read = this.#parts.codec.readAt(raw, key, this.#parts.prefix.length)
    const settle = (session: SessionData | null) =>
      session === null ? unreadable(trace) : judged(this.#loaded(session, key, raw), trace)
    return read instanceof Promise ? read.then(settle) : settle(read)
  }

  /** A session read from `key` as `get` returns it: null once past its absolute time. */
  #loaded(session: SessionData, key: string, raw: string): SessionData | null {
    if (this.#parts.lifetime?.isOver(session, Date.now())) return null
    return this.#parts.merging === undefined ? session : noteRead(session, key, raw)
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
