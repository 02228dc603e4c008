// Revoking by owner (option `owner`): "log this user out everywhere" in time proportional to
// that user's sessions, not to all sessions.
//
// Each owner has an index: a sorted set of their session ids, scored by expiry. `set` and
// `touch` keep it current; `destroy` takes the id out. The index is only a list of places to
// look: an entry may outlive its session (expired, destroyed by `clear`, or now owned by
// someone else), so every entry is checked against the session itself before it is reported
// or revoked. An entry is dropped only when its session is known to be gone (no key, a
// tombstone) or known to be someone else's by the app's own owner function, in a value that
// could be read. A value that cannot be read (a parse failure, an encrypted session read
// without its secrets) or an owner function that cannot judge it (a missing field) proves
// nothing: the entry stays, and is reported as unconfirmed. An owner function that is only a
// guess at the app's (the command line's --owner-field, see `guessedOwner`) proves nothing
// either: a session it says is someone else's stays indexed and is reported, and a listing
// by it writes nothing at all.
//
// maxSessionsPerOwner is decided by the index script, atomically, when a write would add an
// id to the index: two logins at once never both fit in the last place. The sessions live
// in other hash slots than the index, so on a cluster what follows is done in steps: an
// evicted session's tombstone is placed after the index has taken it out (its id stays
// refused in the index meanwhile), and a refusal is checked against the sessions themselves
// (an entry whose session is gone no longer counts) before it stands.

import calculateSlot from "cluster-key-slot"
import type {SessionData} from "express-session"
import {TooManySessionsError} from "../errors.js"
import type {SessionClient} from "../redis/index.js"
import {UNREADABLE, type Unreadable} from "../store/codec.js"
import {assertSid, describeValue} from "../store/keys.js"
import {createdAtOf, type Lifetime} from "../store/lifetime.js"
import {INDEX_PAGE, INDEX_SESSION, UNINDEX_SESSIONS} from "./index-scripts.js"

/**
 * Says who owns a session (a user id, say), or undefined/null for nobody (an anonymous
 * session). Must be a pure function of the session.
 */
export type OwnerOf = (session: SessionData) => string | number | null | undefined

/** Told what a guessed owner function (see `guessedOwner`) could not confirm. */
export interface GuessReport {
  /** A readable indexed session whose owner, by the guess, is `owner`: left as it is. */
  disagrees(sid: string, owner: string): void
  /** An indexed session that could not be read, or with no owner by the guess. */
  unconfirmed(sid: string): void
}

// A symbol of the registry: the command line's bundle and the library's may be two copies.
const GUESS = Symbol.for("redis-session-store.guessedOwner")

/**
 * An owner function that only guesses at the app's (the command line reads a field the user
 * names, which may be the wrong one): the index then never drops an entry on its word, a
 * listing writes nothing, and what it cannot confirm goes to `report`.
 */
export function guessedOwner(read: OwnerOf, report: GuessReport): OwnerOf {
  return Object.assign((session: SessionData) => read(session), {[GUESS]: report})
}

function guessReportOf(ownerOf: OwnerOf): GuessReport | undefined {
  return (ownerOf as OwnerOf & {[GUESS]?: GuessReport})[GUESS]
}

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
  /** maxSessionsPerOwner, when set. */
  limit: OwnerLimit | undefined
  /** Creation times and absoluteTimeout: a session past its time is not listed. */
  lifetime: Lifetime | undefined
}

/** Options of `revokeOwner(owner, options)`. */
export interface RevokeOptions {
  /** Sessions to leave alive ("log out my other devices": the current one). */
  except?: Iterable<string>
  /**
   * Told the ids of indexed sessions that could not be confirmed as the owner's (unreadable,
   * or no owner found in them): they were left alive and kept in the index.
   */
  unconfirmed?: (ids: string[]) => void
}

/** One of an owner's sessions, as `sessionsOf` lists it. */
export interface OwnedSession {
  id: string
  /** The session as stored. */
  session: SessionData
  /**
   * When the store first wrote it (Unix ms); undefined for a session stored before the
   * store kept creation times (it gets one at its next save).
   */
  createdAt: number | undefined
  /**
   * When it was last written or touched (Unix ms): its last request, or within `touchAfter`
   * of it when that is on. Undefined for an entry indexed before the store kept it.
   */
  lastSeenAt: number | undefined
}

/** What happens when a write would give an owner more than `max` live sessions. */
export interface OwnerLimit {
  readonly max: number
  readonly onTooMany: "revokeOldest" | "refuse"
  /** How long an evicted id stays refused by the index (its tombstone's life). */
  readonly refusalMs: number
}

/** What `track` found: "revoked" when the session was evicted and must not be written. */
export type Admission = "ok" | "revoked"

/** An indexed session confirmed as the owner's. */
interface IndexedSession {
  id: string
  session: SessionData
  lastSeenAt: number | undefined
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

/**
 * The key of an owner's "seen" set, in the same hash slot as the index (the scripts use
 * both). An index key with a hash tag ("{app}" in the prefix) gives its tag to the seen key;
 * one without is made the seen key's tag. An index key that cannot be a tag (a "}" in the
 * owner id) gets the first small number whose slot is its slot. The three shapes never meet.
 */
export function seenKey(indexKey: string): string {
  const slot = calculateSlot(indexKey)
  const tagged = `owners-seen:${indexKey.slice("owners:".length)}`
  if (calculateSlot(tagged) === slot) return tagged
  const asTag = `owners-seen#{${indexKey}}`
  if (calculateSlot(asTag) === slot) return asTag
  return `owners-seen#{${numberInSlot(slot)}}${indexKey}`
}

const numbersBySlot = new Map<number, string>()

function numberInSlot(slot: number): string {
  let found = numbersBySlot.get(slot)
  for (let n = 0; found === undefined; n++) {
    if (calculateSlot(`${n}`) === slot) found = `${n}`
  }
  numbersBySlot.set(slot, found)
  return found
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
  /** Set when the owner function is only a guess at the app's. */
  readonly #guess: GuessReport | undefined

  constructor(deps: OwnerIndexDeps) {
    this.#deps = deps
    this.#guess = guessReportOf(deps.ownerOf)
  }

  /** The owner of `session` by the app's function, or undefined for nobody. */
  ownerOf(session: SessionData): string | undefined {
    return ownerId(this.#deps.ownerOf(session), "options.owner's result")
  }

  /**
   * Puts `sid` in its owner's index, scored by when it expires (`ttlMs` from now;
   * undefined: never), and applies maxSessionsPerOwner: resolves once any session evicted
   * to make room is ended, and rejects with TooManySessionsError when the limit refuses.
   * Resolves to "revoked" when `sid` itself was evicted (its write must not happen).
   * Nothing to do for a session nobody owns.
   */
  track(sid: string, session: SessionData, ttlMs: number | undefined): Promise<Admission> {
    // An owner function that throws (an anonymous session it was not written for): nobody's,
    // not indexed, and the write goes on. A result that is no owner id is still an error,
    // thrown here, before the caller writes anything.
    let found: unknown
    try {
      found = this.#deps.ownerOf(session)
    } catch {
      return ADMITTED
    }
    const owner = ownerId(found, "options.owner's result")
    return owner === undefined ? ADMITTED : this.#admit(owner, sid, ttlMs)
  }

  async #admit(owner: string, sid: string, ttlMs: number | undefined): Promise<Admission> {
    let reply = await this.#index(owner, sid, ttlMs)
    if (reply[0] === "refused") {
      // Entries whose sessions are gone still counted: check them, then ask once more.
      await checkAll(this.#checkedBatches(owner, true))
      reply = await this.#index(owner, sid, ttlMs)
      if (reply[0] === "refused") throw new TooManySessionsError(this.#deps.limit?.max ?? 0)
    }
    if (reply[0] === "evicted") {
      await this.#deps.endSessions(reply.slice(1).map((id) => this.#deps.prefix + id))
    }
    return reply[0] === "revoked" ? "revoked" : "ok"
  }

  async #index(owner: string, sid: string, ttlMs: number | undefined): Promise<string[]> {
    const {limit, prefix, redis} = this.#deps
    const now = Date.now()
    const expires = ttlMs === undefined ? "+inf" : `${now + ttlMs}`
    const index = ownerIndexKey(prefix, owner)
    const reply = await redis.runScript(
      INDEX_SESSION,
      [index, seenKey(index)],
      [
        sid,
        expires,
        `${now}`,
        `${limit?.max ?? 0}`,
        limit?.onTooMany ?? "revokeOldest",
        `${now + (limit?.refusalMs ?? 0)}`,
      ],
    )
    return (reply as unknown[]).map(String)
  }

  /** Takes a destroyed session out of its owner's index (`session`: what it held, if any). */
  forget(sid: string, session: SessionData | null): Promise<unknown> {
    const owner = session === null ? undefined : this.#ownerOrNone(session)
    return owner === undefined ? Promise.resolve(0) : this.untrack(owner, [sid])
  }

  /** Takes `sids` out of `owner`'s index. */
  untrack(owner: string, sids: readonly string[]): Promise<unknown> {
    if (sids.length === 0) return Promise.resolve(0)
    const index = ownerIndexKey(this.#deps.prefix, owner)
    return this.#deps.redis.runScript(UNINDEX_SESSIONS, [index, seenKey(index)], sids)
  }

  /** Every live session of `owner`, each with its id, data and times. */
  async sessionsOf(owner: unknown): Promise<OwnedSession[]> {
    const found: OwnedSession[] = []
    const {lifetime} = this.#deps
    // A listing by a guessed owner function changes nothing, not even expired entries.
    const writes = this.#guess === undefined
    for await (const batch of this.#checkedBatches(ownerId(owner, "The owner"), writes)) {
      const now = Date.now()
      for (const {id, session, lastSeenAt} of batch.theirs) {
        if (lifetime?.isOver(session, now)) continue
        found.push({id, session, createdAt: createdAtOf(session), lastSeenAt})
      }
    }
    return found
  }

  /**
   * Ends every session of `owner` as `destroy` does, but those in `except`. Resolves to how
   * many were ended, and the ids of indexed sessions that could not be confirmed as the
   * owner's (left alone).
   */
  async revoke(owner: unknown, spared: unknown): Promise<{revoked: number; unconfirmed: string[]}> {
    const id = ownerId(owner, "The owner")
    const except = exceptSet(spared)
    let revoked = 0
    const unconfirmed: string[] = []
    for await (const batch of this.#checkedBatches(id, true)) {
      unconfirmed.push(...batch.unconfirmed.filter((sid) => !except.has(sid)))
      const ending = batch.theirs.map((held) => held.id).filter((sid) => !except.has(sid))
      if (ending.length === 0) continue
      await this.#deps.endSessions(ending.map((sid) => this.#deps.prefix + sid))
      await this.untrack(id as string, ending)
      revoked += ending.length
    }
    return {revoked, unconfirmed}
  }

  /**
   * The owner's sessions, a batch at a time, each checked against the session itself: those
   * gone or now someone else's are left out, and their entries dropped from the index (when
   * `writes`); those that cannot be judged are left out and kept in the index (`unconfirmed`).
   * With a guessed owner function, "someone else's" is only reported, and kept.
   */
  async *#checkedBatches(
    owner: string | undefined,
    writes: boolean,
  ): AsyncGenerator<{theirs: IndexedSession[]; unconfirmed: string[]}> {
    if (owner === undefined) throw new TypeError("The owner must be given")
    const {prefix, readEach} = this.#deps
    const guess = this.#guess
    for await (const entries of this.#indexedIds(owner, writes)) {
      const sids = entries.map((entry) => entry.id)
      const held = await readEach(sids.map((sid) => prefix + sid))
      const theirs: IndexedSession[] = []
      const unconfirmed: string[] = []
      const gone: string[] = []
      sids.forEach((sid, i) => {
        const session = held[i]
        if (session === null || session === undefined) gone.push(sid)
        else if (session === UNREADABLE) unconfirmed.push(sid)
        else {
          const who = this.#ownerOrNone(session)
          if (who === owner) theirs.push({id: sid, session, lastSeenAt: entries[i]?.lastSeenAt})
          // No owner found in a readable session (a field the caller named wrongly, say).
          else if (who === undefined) unconfirmed.push(sid)
          else if (guess === undefined) gone.push(sid)
          else guess.disagrees(sid, who)
        }
      })
      if (guess !== undefined) {
        for (const sid of unconfirmed) guess.unconfirmed(sid)
      }
      if (writes) await this.untrack(owner, gone)
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

  /**
   * The ids in the owner's index whose expiry is still ahead, each with when it was last
   * seen, `batchSize` at a time. Expired entries are pruned on the way when `writes`.
   */
  async *#indexedIds(
    owner: string,
    writes: boolean,
  ): AsyncGenerator<{id: string; lastSeenAt?: number}[]> {
    const {redis, prefix, batchSize} = this.#deps
    const key = ownerIndexKey(prefix, owner)
    const keys = [key, seenKey(key)]
    const seen = new Set<string>()
    let cursor = "0"
    do {
      const now = Date.now()
      const reply = (await redis.runScript(INDEX_PAGE, keys, [
        cursor,
        `${batchSize}`,
        `${now}`,
        writes ? "prune" : "read",
      ])) as [unknown, unknown[]]
      cursor = String(reply[0])
      const fresh: {id: string; lastSeenAt?: number}[] = []
      const entries = reply[1]
      for (let i = 0; i + 2 < entries.length; i += 3) {
        const sid = String(entries[i])
        const expires = scoreOf(entries[i + 1])
        const lastSeen = String(entries[i + 2])
        if (expires >= now && !seen.has(sid)) {
          seen.add(sid)
          fresh.push(lastSeen === "" ? {id: sid} : {id: sid, lastSeenAt: Number(lastSeen)})
        }
      }
      for (let start = 0; start < fresh.length; start += batchSize) {
        yield fresh.slice(start, start + batchSize)
      }
    } while (cursor !== "0")
  }
}

const ADMITTED: Promise<Admission> = Promise.resolve("ok")

/** `except` of revokeOwner, checked: session ids, in any iterable but a string. */
function exceptSet(except: unknown): Set<string> {
  if (except === undefined) return new Set()
  if (
    typeof except === "string" ||
    typeof (except as Iterable<unknown> | null)?.[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(`except must be a list of session ids; got ${describeValue(except)}`)
  }
  const ids = new Set<string>()
  for (const sid of except as Iterable<unknown>) {
    assertSid(sid)
    ids.add(sid)
  }
  return ids
}

/** Runs a walk to its end, for what it does on the way. */
async function checkAll(walk: AsyncIterable<unknown>): Promise<void> {
  for await (const _batch of walk) {
    // each batch drops the entries it found gone
  }
}

/** A sorted-set score as Redis writes it ("inf" for a session without expiry). */
function scoreOf(reply: unknown): number {
  const text = String(reply)
  return text === "inf" || text === "+inf" ? Number.POSITIVE_INFINITY : Number(text)
}
