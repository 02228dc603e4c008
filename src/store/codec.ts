// Turning sessions into stored values and back, through the user's serializer. A stored
// value that cannot be read as a session is reported and read as "no session": one bad
// value must not cost a user an HTTP 500 on every request, or an admin script its run.

import type {SessionData} from "express-session"
import {CorruptSessionError, SessionTooLargeError} from "../errors.js"
import {describeValue} from "./keys.js"
import type {Serializer} from "./options.js"

/** A stored value that is there but cannot be read as a session (it stays in Redis). */
export const UNREADABLE: unique symbol = Symbol("unreadable")
export type Unreadable = typeof UNREADABLE

export class SessionCodec {
  constructor(
    readonly serializer: Serializer,
    private readonly reportCorrupt: (error: CorruptSessionError) => void,
    readonly maxBytes?: number,
  ) {}

  /**
   * The stored form of a session: a string, or a promise of one for an async `stringify`
   * (the synchronous path stays free of promises: `set` runs on many requests).
   */
  serialize(session: SessionData): string | Promise<string> {
    let value: unknown
    try {
      value = this.serializer.stringify(session)
    } catch (cause) {
      throw serializeFailed(cause)
    }
    if (typeof value === "string") return this.#checkSerialized(value)
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (resolved) => this.#checkSerialized(resolved),
        (cause: unknown) => {
          throw serializeFailed(cause)
        },
      )
    }
    return this.#checkSerialized(value)
  }

  #checkSerialized(value: unknown): string {
    if (typeof value !== "string") {
      throw new TypeError(
        `serializer.stringify must return a string; it returned ${describeValue(value)}`,
      )
    }
    const {maxBytes} = this
    if (maxBytes !== undefined && value.length > maxBytes / 3) {
      // UTF-8 takes at most three bytes per UTF-16 unit: count only when it could matter.
      const bytes = Buffer.byteLength(value, "utf8")
      if (bytes > maxBytes) throw new SessionTooLargeError(bytes, maxBytes)
    }
    return value
  }

  /**
   * Parses a stored value; anything that is not a usable session is reported and dropped.
   * Stays synchronous for a synchronous `parse` (JSON): `get` is on every request's path.
   */
  read(raw: string, sid: string): SessionData | null | Promise<SessionData | null> {
    return this.readAt(raw, sid, 0)
  }

  /** `read`, but a value that cannot be read is UNREADABLE (reported too), not null. */
  readOrUnreadable(
    raw: string,
    sid: string,
  ): SessionData | Unreadable | Promise<SessionData | Unreadable> {
    return this.readAt(raw, sid, 0, UNREADABLE)
  }

  /**
   * `read` for the value at `key`, whose session id starts at `idStart`: the id is cut out
   * only when a report needs it (`get` runs on every request). A value that cannot be read
   * is reported, and is `unreadable` (null unless given).
   */
  readAt<U = null>(
    raw: string,
    key: string,
    idStart: number,
    unreadable: U = null as U,
  ): SessionData | U | Promise<SessionData | U> {
    let parsed: unknown
    try {
      parsed = this.serializer.parse(raw)
    } catch (cause) {
      return this.#parseFailed(key.slice(idStart), cause, unreadable)
    }
    // A session first: a promise never has a cookie object.
    if (isSessionShape(parsed)) return parsed
    const sid = key.slice(idStart)
    if (isThenable(parsed)) {
      return Promise.resolve(parsed).then(
        (session: unknown) => this.#checkShape(session, sid, unreadable),
        (cause: unknown) => this.#parseFailed(sid, cause, unreadable),
      )
    }
    return this.#checkShape(parsed, sid, unreadable)
  }

  #parseFailed<U>(sid: string, cause: unknown, unreadable: U): U {
    this.reportCorrupt(new CorruptSessionError(sid, `parse failed: ${messageOf(cause)}`, cause))
    return unreadable
  }

  #checkShape<U>(session: unknown, sid: string, unreadable: U): SessionData | U {
    if (isSessionShape(session)) return session
    this.reportCorrupt(
      new CorruptSessionError(sid, `parsed to ${describeValue(session)} without a cookie object`),
    )
    return unreadable
  }
}

/** What express-session needs to revive a session: an object with a cookie object. */
function isSessionShape(value: unknown): value is SessionData {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const cookie = (value as {cookie?: unknown}).cookie
  return typeof cookie === "object" && cookie !== null && !Array.isArray(cookie)
}

function serializeFailed(cause: unknown): TypeError {
  return new TypeError(`The session cannot be serialized: ${messageOf(cause)}`, {cause})
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as {then?: unknown} | null)?.then === "function"
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
