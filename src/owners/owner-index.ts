// Revoking by owner (option `owner`): "log this user out everywhere" in time proportional to
// that user's sessions, not to all sessions.
//
// Each owner has an index: a sorted set of their session ids, scored by expiry. `set` and
// `touch` keep it current; `destroy` takes the id out. The index is only a list of places to
// look: an entry may outlive its session (expired, destroyed by `clear`, or now owned by
// someone else), so every entry is checked against the session itself before it is reported
// or revoked. An entry is dropped only when its session is known to be gone (no key, a
// tombstone) or known to be someone else's, by a value that could be read. A value that
// cannot be read (a parse failure, an encrypted session read without its secrets) or an
// owner function that cannot judge it (a missing field) proves nothing: the entry stays,
// and is reported as unconfirmed.

import type {SessionData} from "express-session"
import type {SessionClient} from "../redis/index.js"
import {INDEX_PAGE, INDEX_SESSION, UNINDEX_SESSIONS} from "../redis/scripts.js"
import {UNREADABLE, type Unreadable} from "../store/codec.js"
import {describeValue} from "../store/keys.js"

/**
 * Says who owns a session (a user id, say), or undefined/null for nobody (an anonymous
 * session). Must be a pure function of the session.
 */
export type OwnerOf = (session: SessionData) => string | number | null | undefined

/** What the index needs from the store: reading sessions and ending them, batch by batch. */
export interface OwnerIndexDeps {
  redis: SessionClient
  prefix: string
  ownerOf: OwnerOf
  /** The most ids any one command carries (the store's `scanCount`). */
  batchSize: number
  /** What each key holds: a session, UNREADABLE, or null (no key, or a tombstone). */
  readEach(keys: string[]): Promise<(SessionData | Unreadable | null)[]>
  endSessions(keys: string[]): Promise<unknown>
}

export function validateOwner(owner: unknown): OwnerOf | undefined {
  if (owner === undefined) return undefined
  if (typeof owner !== "function") {
    throw new TypeError(
      `options.owner must be a function of the session; got ${describeValue(owner)}`,
    )
  }
  return owner as OwnerOf
}

/**
 * The key of an owner's index. It starts with "owners:" rather than the session prefix, so it
 * is never a session's key, and the admin command line finds it from the prefix alone.
 */
export function ownerIndexKey(prefix: string, owner: string): string {
  return `owners:${prefix}${owner}`
}

/** An owner id as the index keys it; a caller's bad value is a TypeError, never a key. */
export function ownerId(owner: unknown, source: string): string | undefined {
  if (owner === undefined || owner === null) return undefined
  if (typeof owner === "number" && Number.isFinite(owner)) return String(owner)
  if (typeof owner === "string" && owner.length > 0) return owner
  throw new TypeError(
    `${source} must be a non-empty string or a finite number; got ${describeValue(owner)}`,
  )
}

export class OwnerIndex {
  readonly #deps: OwnerIndexDeps

  constructor(deps: OwnerIndexDeps) {
    this.#deps = deps
  }

  /** The owner of `session` by the app's function, or undefined for nobody. */
  ownerOf(session: SessionData): string | undefined {
    return ownerId(this.#deps.ownerOf(session), "options.owner's result")
  }

  /**
   * Puts `sid` in its owner's index, scored by when it expires (`ttlMs` from now;
   * undefined: never). Nothing to do for a session nobody owns.
   */
  track(sid: string, session: SessionData, ttlMs: number | undefined): Promise<unknown> {
    // An owner function that throws (an anonymous session it was not written for): nobody's,
    // not indexed, and the write goes on. A result that is no owner id is still an error.
    let found: unknown
    try {
      found = this.#deps.ownerOf(session)
    } catch {
      return Promise.resolve()
    }
    const owner = ownerId(found, "options.owner's result")
    if (owner === undefined) return Promise.resolve()
    const now = Date.now()
    const expires = ttlMs === undefined ? "+inf" : `${now + ttlMs}`
    return this.#deps.redis.runScript(
      INDEX_SESSION,
      [ownerIndexKey(this.#deps.prefix, owner)],
      [sid, expires, `${now}`],
    )
  }

  /** Takes a destroyed session out of its owner's index (`session`: what it held, if any). */
  forget(sid: string, session: SessionData | null): Promise<unknown> {
    const owner = session === null ? undefined : this.#ownerOrNone(session)
    return owner === undefined ? Promise.resolve(0) : this.untrack(owner, [sid])
  }

  /** Takes `sids` out of `owner`'s index. */
  untrack(owner: string, sids: readonly string[]): Promise<unknown> {
    if (sids.length === 0) return Promise.resolve(0)
    return this.#deps.redis.runScript(
      UNINDEX_SESSIONS,
      [ownerIndexKey(this.#deps.prefix, owner)],
      sids,
    )
  }

  /** Every live session of `owner`, each with its id. */
  async sessionsOf(owner: unknown): Promise<[string, SessionData][]> {
    const found: [string, SessionData][] = []
    for await (const batch of this.#checkedBatches(ownerId(owner, "The owner"))) {
      found.push(...batch.theirs)
    }
    return found
  }

  /**
   * Ends every session of `owner` as `destroy` does. Resolves to how many were ended, and the
   * ids of indexed sessions that could not be confirmed as the owner's (left alone).
   */
  async revoke(owner: unknown): Promise<{revoked: number; unconfirmed: string[]}> {
    const id = ownerId(owner, "The owner")
    let revoked = 0
    const unconfirmed: string[] = []
    for await (const batch of this.#checkedBatches(id)) {
      unconfirmed.push(...batch.unconfirmed)
      if (batch.theirs.length === 0) continue
      await this.#deps.endSessions(batch.theirs.map(([sid]) => this.#deps.prefix + sid))
      await this.untrack(
        id as string,
        batch.theirs.map(([sid]) => sid),
      )
      revoked += batch.theirs.length
    }
    return {revoked, unconfirmed}
  }

  /**
   * The owner's sessions, a batch at a time, each checked against the session itself: those
   * gone or now someone else's are left out, and their entries dropped from the index; those
   * that cannot be judged are left out and kept in the index (`unconfirmed`).
   */
  async *#checkedBatches(
    owner: string | undefined,
  ): AsyncGenerator<{theirs: [string, SessionData][]; unconfirmed: string[]}> {
    if (owner === undefined) throw new TypeError("The owner must be given")
    const {prefix, readEach} = this.#deps
    for await (const sids of this.#indexedIds(owner)) {
      const held = await readEach(sids.map((sid) => prefix + sid))
      const theirs: [string, SessionData][] = []
      const unconfirmed: string[] = []
      const gone: string[] = []
      sids.forEach((sid, i) => {
        const session = held[i]
        if (session === null || session === undefined) gone.push(sid)
        else if (session === UNREADABLE) unconfirmed.push(sid)
        else {
          const who = this.#ownerOrNone(session)
          if (who === owner) theirs.push([sid, session])
          // No owner found in a readable session (a field the caller named wrongly, say).
          else if (who === undefined) unconfirmed.push(sid)
          else gone.push(sid)
        }
      })
      await this.untrack(owner, gone)
      yield {theirs, unconfirmed}
    }
  }

  /** For a stored session: one the owner function cannot judge belongs to nobody. */
  #ownerOrNone(session: SessionData): string | undefined {
    try {
      return this.ownerOf(session)
    } catch {
      return undefined
    }
  }

  /** The ids in the owner's index whose expiry is still ahead, `batchSize` at a time. */
  async *#indexedIds(owner: string): AsyncGenerator<string[]> {
    const {redis, prefix, batchSize} = this.#deps
    const key = ownerIndexKey(prefix, owner)
    const seen = new Set<string>()
    let cursor = "0"
    do {
      const now = Date.now()
      const reply = (await redis.runScript(
        INDEX_PAGE,
        [key],
        [cursor, `${batchSize}`, `${now}`],
      )) as [unknown, unknown[]]
      cursor = String(reply[0])
      const fresh: string[] = []
      const entries = reply[1]
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const sid = String(entries[i])
        const expires = scoreOf(entries[i + 1])
        if (expires >= now && !seen.has(sid)) {
          seen.add(sid)
          fresh.push(sid)
        }
      }
      for (let start = 0; start < fresh.length; start += batchSize) {
        yield fresh.slice(start, start + batchSize)
      }
    } while (cursor !== "0")
  }
}

/** A sorted-set score as Redis writes it ("inf" for a session without expiry). */
function scoreOf(reply: unknown): number {
  const text = String(reply)
  return text === "inf" || text === "+inf" ? Number.POSITIVE_INFINITY : Number(text)
}
