// The write path: `set` and `touch`, from a session object to the commands that store it,
// with the TTL (capped by absoluteTimeout), the serializer, the owner index and its limit,
// and the merge of concurrent saves, each where it must come.

import type {SessionData} from "express-session"
import {byteSize, type OperationTrace} from "../diagnostics/trace.js"
import type {OwnerIndex} from "../owners/owner-index.js"
import type {SessionClient} from "../redis/index.js"
import type {SessionCodec} from "./codec.js"
import {assertSid, describeValue} from "./keys.js"
import type {Lifetime} from "./lifetime.js"
import type {MergingWriter} from "./merge.js"
import type {StoreSettings} from "./parts.js"
import {touchCanWait, unmarkExpiry} from "./touch-after.js"
import {sessionTtlMs} from "./ttl.js"

/** What the write path works with, built once with the store. */
export interface WriteParts {
  readonly redis: SessionClient
  readonly codec: SessionCodec
  readonly owners: OwnerIndex | undefined
  /** Saves with concurrentWrites "merge"; undefined for "overwrite". */
  readonly merging: MergingWriter | undefined
  /** Creation times (with `owner` or `absoluteTimeout`); undefined when not kept. */
  readonly lifetime: Lifetime | undefined
}

export class SessionWrites {
  readonly #settings: StoreSettings
  readonly #parts: WriteParts

  constructor(settings: StoreSettings, parts: WriteParts) {
    this.#settings = settings
    this.#parts = parts
  }

  /** `store.set`: see its documentation. `trace` only while someone listens (diagnostics). */
  set(sid: string, session: SessionData, trace?: OperationTrace): Promise<void> {
    try {
      assertSid(sid)
      assertSessionObject(session)
      const key = this.#settings.prefix + sid
      const now = Date.now()
      let ttlMs: number | undefined = sessionTtlMs(session, this.#settings.ttl, now)
      if (this.#parts.lifetime !== undefined) {
        const created = this.#parts.lifetime.stamp(session, now)
        ttlMs = this.#parts.lifetime.cap(
          this.#settings.disableTTL ? undefined : ttlMs,
          created,
          now,
        )
      } else if (this.#settings.disableTTL) {
        ttlMs = undefined
      }
      if (ttlMs !== undefined && ttlMs <= 0) {
        if (trace !== undefined) trace.outcome = "deleted"
        return this.#parts.redis.retime(key, ttlMs, trace)
      }
      if (this.#settings.touchAfter > 0) unmarkExpiry(session)
      const serialized = this.#parts.codec.serialize(session)
      if (typeof serialized === "string") {
        return this.#write(sid, key, session, serialized, ttlMs, trace)
      }
      return serialized.then((value) => this.#write(sid, key, session, value, ttlMs, trace))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Writes a serialized session; `lifetime` undefined: no expiry. */
  #write(
    sid: string,
    key: string,
    session: SessionData,
    value: string,
    lifetime: number | undefined,
    trace: OperationTrace | undefined,
  ) {
    if (trace !== undefined) trace.bytes = byteSize(value)
    if (this.#parts.owners === undefined)
      return this.#writeValue(sid, key, session, value, lifetime, trace)
    return this.#afterIndexing(sid, session, lifetime, trace, () =>
      this.#writeValue(sid, key, session, value, lifetime, trace),
    )
  }

  #writeValue(
    sid: string,
    key: string,
    session: SessionData,
    value: string,
    lifetime: number | undefined,
    trace: OperationTrace | undefined,
  ) {
    // A destroyed session stays dead: the layer's write leaves a tombstone as it is.
    return this.#parts.merging === undefined
      ? this.#parts.redis.write(key, value, lifetime, trace)
      : this.#parts.merging.write(sid, key, session, value, lifetime, trace)
  }

  /**
   * Runs `change` (a write or a re-time) with the owner index kept current: before an owner
   * function that fails can leave anything written, and, with maxSessionsPerOwner, after the
   * index admitted the session (a refusal writes nothing; an evicted session stays dead).
   */
  #afterIndexing(
    sid: string,
    session: SessionData,
    lifetime: number | undefined,
    trace: OperationTrace | undefined,
    change: () => Promise<void>,
  ): Promise<void> {
    const indexed = (this.#parts.owners as OwnerIndex).track(sid, session, lifetime)
    if (this.#settings.maxSessionsPerOwner === undefined) {
      return Promise.all([change(), indexed]).then(nothing)
    }
    return indexed.then((admission) => {
      if (admission !== "revoked") return change()
      if (trace !== undefined) trace.outcome = "logged-out"
    })
  }

  /** `store.touch`: see its documentation. `trace` only while someone listens (diagnostics). */
  touch(sid: string, session: SessionData, trace?: OperationTrace): Promise<void> {
    try {
      assertSid(sid)
      assertSessionObject(session)
      if (this.#settings.disableTouch || this.#settings.disableTTL) return skipped(trace)
      const now = Date.now()
      let ttlMs = sessionTtlMs(session, this.#settings.ttl, now)
      if (this.#parts.lifetime !== undefined)
        ttlMs = this.#parts.lifetime.forTouch(session, ttlMs, now)
      if (
        this.#settings.touchAfter > 0 &&
        touchCanWait(session, ttlMs, this.#settings.touchAfter * 1000, now)
      ) {
        return skipped(trace)
      }
      const key = this.#settings.prefix + sid
      if (ttlMs <= 0 && trace !== undefined) trace.outcome = "deleted"
      if (ttlMs <= 0 || this.#parts.owners === undefined)
        return this.#parts.redis.retime(key, ttlMs, trace)
      return this.#afterIndexing(sid, session, ttlMs, trace, () =>
        this.#parts.redis.retime(key, ttlMs, trace),
      )
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

const DONE: Promise<void> = Promise.resolve()

function nothing(): void {}

function skipped(trace: OperationTrace | undefined): Promise<void> {
  if (trace !== undefined) trace.outcome = "skipped"
  return DONE
}

function assertSessionObject(session: unknown): asserts session is SessionData {
  if (typeof session !== "object" || session === null || Array.isArray(session)) {
    throw new TypeError(`A session must be an object; got ${describeValue(session)}`)
  }
}
