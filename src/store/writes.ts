// The write path: `set` and `touch`, from a session object to the commands that store it,
// with the TTL (capped by absoluteTimeout), the serializer, the owner index and its limit,
// and the merge of concurrent saves, each where it must come.

import type {SessionData} from "express-session"
import {byteSize, type OperationTrace} from "../diagnostics/trace.js"
import type {OwnerIndex} from "../owners/owner-index.js"
import type {Gate} from "../redis/gate.js"
import type {SessionClient} from "../redis/index.js"
import type {SessionCodec} from "./codec.js"
import {assertSid, describeValue} from "./keys.js"
import type {Lifetime} from "./lifetime.js"
import {renewedUntilOf} from "./loaded-notes.js"
import type {MergingWriter} from "./merge.js"
import type {StoreSettings} from "./parts.js"
import {type InFlightReads, type LoadedRead, Renewal} from "./renewal.js"
import {holdsNothing} from "./stand-in.js"
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
  /** The renewing read's guess, learned here; undefined when reads do not re-time. */
  readonly renewal: Renewal | undefined
  /** Reads kept for saves that come without createSession; undefined when not kept. */
  readonly inFlight: InFlightReads | undefined
  /** whileUnavailable "no-session": while shut, a save of an empty session is skipped. */
  readonly unavailable: Gate | undefined
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
      // The stand-in of an outage (stand-in.ts), saved back unchanged: nothing to save.
      if (this.#parts.unavailable?.shut && holdsNothing(session)) return skipped(trace)
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
      const loaded = this.#parts.inFlight?.take(sid, now, session)
      if (ttlMs !== undefined && ttlMs <= 0) {
        if (trace !== undefined) trace.outcome = "deleted"
        return this.#parts.redis.retime(key, ttlMs, trace)
      }
      this.#parts.renewal?.learn(ttlMs)
      if (this.#settings.touchAfter > 0) unmarkExpiry(session)
      if (loaded !== undefined) return this.#setLoaded(sid, key, session, ttlMs, loaded, trace)
      return this.#serializeAndWrite(sid, key, session, ttlMs, trace)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * A save of a session whose read was kept (a framework without createSession, such as
   * @fastify/session, saving on every request): when it holds what was read but for its
   * cookie, it is re-timed, or nothing is sent when the read's renewal holds; else written
   * as any save. (Not merged: two requests of one session id in flight share one kept read,
   * so it is not known which of them this save's base is.)
   */
  #setLoaded(
    sid: string,
    key: string,
    session: SessionData,
    ttlMs: number | undefined,
    loaded: LoadedRead,
    trace: OperationTrace | undefined,
  ): Promise<void> {
    // The session with the cookie's expiry as it was read: equal to what was read, nothing
    // else changed (a cookie's new maxAge, "remember me", is a change). A serializer that
    // refuses it leaves the decision to the save, which says why.
    let same: string | Promise<string>
    try {
      same = this.#parts.codec.serialize(withExpiryOf(session, loaded.cookie))
    } catch {
      same = ""
    }
    const decide = (form: string) =>
      form === loaded.raw
        ? this.#retimeUnchanged(sid, key, session, ttlMs, loaded.renewedUntil, Date.now(), trace)
        : this.#serializeAndWrite(sid, key, session, ttlMs, trace)
    return typeof same === "string" ? decide(same) : same.then(decide, () => decide(""))
  }

  #serializeAndWrite(
    sid: string,
    key: string,
    session: SessionData,
    ttlMs: number | undefined,
    trace: OperationTrace | undefined,
  ): Promise<void> {
    const serialized = this.#parts.codec.serialize(session)
    if (typeof serialized === "string") {
      return this.#write(sid, key, session, serialized, ttlMs, trace)
    }
    return serialized.then((value) => this.#write(sid, key, session, value, ttlMs, trace))
  }

  /**
   * A session that changed nothing but its cookie's expiry gets the life `ttlMs` (undefined:
   * none) from `now`: nothing is sent when the read's renewal (until `renewedUntil`) already
   * gave it, a re-time otherwise; the owner index is kept current either way.
   */
  #retimeUnchanged(
    sid: string,
    key: string,
    session: SessionData,
    ttlMs: number | undefined,
    renewedUntil: number,
    now: number,
    trace: OperationTrace | undefined,
  ): Promise<void> {
    const renewed = ttlMs === undefined || Renewal.covers(renewedUntil, ttlMs, now)
    if (trace !== undefined) trace.outcome = renewed ? "renewed" : "touched"
    if (this.#parts.owners === undefined) {
      return renewed ? DONE : this.#parts.redis.retime(key, ttlMs as number, trace)
    }
    const change = renewed
      ? () => DONE
      : () => this.#parts.redis.retime(key, ttlMs as number, trace)
    return this.#afterIndexing(sid, session, ttlMs, trace, change)
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
      if (this.#parts.unavailable?.shut && holdsNothing(session)) return skipped(trace)
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
      this.#parts.inFlight?.forget(sid)
      if (ttlMs <= 0) {
        if (trace !== undefined) trace.outcome = "deleted"
        return this.#parts.redis.retime(key, ttlMs, trace)
      }
      this.#parts.renewal?.learn(ttlMs)
      const renewedUntil = renewedUntilOf(session, key)
      return this.#retimeUnchanged(sid, key, session, ttlMs, renewedUntil, now, trace)
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

const DONE: Promise<void> = Promise.resolve()

/**
 * The cookie fields a rolling session moves on every request: its expiry, and @fastify/session's
 * `originalExpires` (the expiry its Cookie was built with, which is what was loaded).
 */
const EXPIRY_FIELDS = ["expires", "originalExpires"] as const

/** `session` as it would be stored with the cookie's expiry fields of `read` (a parsed cookie). */
function withExpiryOf(session: SessionData, read: unknown): SessionData {
  const cookie = session.cookie as unknown as {toJSON?: () => object} | undefined
  if (typeof cookie !== "object" || cookie === null) return session
  // express-session's and @fastify/session's Cookie store what their toJSON gives.
  const fields: Record<string, unknown> = {
    ...(typeof cookie.toJSON === "function" ? cookie.toJSON() : cookie),
  }
  const was = (typeof read === "object" && read !== null ? read : {}) as Record<string, unknown>
  for (const field of EXPIRY_FIELDS) {
    if (Object.hasOwn(was, field)) fields[field] = was[field]
    else delete fields[field]
  }
  return {...session, cookie: fields} as unknown as SessionData
}

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
