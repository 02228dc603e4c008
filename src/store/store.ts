import {type Session, type SessionData, Store} from "express-session"
import type {Progress} from "../bulk/bulk.js"
import {
  DESTROY,
  GET,
  isTraced,
  publishConnection,
  publishServer,
  publishUnreadable,
  SET,
  TOUCH,
} from "../diagnostics/channels.js"
import {type OperationTrace, traced} from "../diagnostics/trace.js"
import type {CorruptSessionError} from "../errors.js"
import type {OwnedSession, OwnerIndex, RevokeOptions} from "../owners/owner-index.js"
import type {Availability} from "../redis/availability.js"
import type {Backend} from "../redis/backend.js"
import type {SessionClient} from "../redis/index.js"
import {AdminCalls, type SessionWithId} from "./admin-calls.js"
import {type Callback, relay, withCallback} from "./callback.js"
import type {RedisStoreEvents, StoreListener} from "./events.js"
import {assertSid} from "./keys.js"
import {carryNote} from "./loaded-notes.js"
import type {MergingWriter} from "./merge.js"
import {
  type RedisClientLike,
  type RedisStoreOptions,
  type RedisStoreSettings,
  resolveOptions,
  type Serializer,
} from "./options.js"
import {assembleStore, type ConcurrentWrites, type OnTooManySessions} from "./parts.js"
import type {SessionReads} from "./reads.js"
import type {InFlightReads} from "./renewal.js"
import type {TtlOption} from "./ttl.js"
import type {SessionWrites} from "./writes.js"

export type {OwnedSession, RevokeOptions, SessionWithId}

/** Typed listeners for the store's own events; any other event keeps EventEmitter's types. */
export interface RedisStore {
  on<E extends keyof RedisStoreEvents>(event: E, listener: StoreListener<E>): this
  on(event: string | symbol, listener: (...args: unknown[]) => void): this
  once<E extends keyof RedisStoreEvents>(event: E, listener: StoreListener<E>): this
  once(event: string | symbol, listener: (...args: unknown[]) => void): this
  off<E extends keyof RedisStoreEvents>(event: E, listener: StoreListener<E>): this
  off(event: string | symbol, listener: (...args: unknown[]) => void): this
  addListener<E extends keyof RedisStoreEvents>(event: E, listener: StoreListener<E>): this
  addListener(event: string | symbol, listener: (...args: unknown[]) => void): this
  removeListener<E extends keyof RedisStoreEvents>(event: E, listener: StoreListener<E>): this
  removeListener(event: string | symbol, listener: (...args: unknown[]) => void): this
  emit<E extends keyof RedisStoreEvents>(event: E, ...args: RedisStoreEvents[E]): boolean
  emit(event: string | symbol, ...args: unknown[]): boolean
}

/** express-session store backed by Redis; a drop-in replacement for connect-redis. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface adds event overloads only
export class RedisStore extends Store {
  /** The client given at construction (or built from settings; with `clients`, the first). */
  readonly client: RedisClientLike
  /** Every client in use: one, or one per server with `clients`. */
  readonly clients: readonly RedisClientLike[]
  readonly prefix: string
  readonly ttl: TtlOption
  readonly disableTTL: boolean
  readonly disableTouch: boolean
  readonly serializer: Serializer
  readonly scanCount: number
  /** Seconds a destroyed session's tombstone lives; 0 when tombstones are off. */
  readonly tombstoneSeconds: number
  /** Seconds within which a touch that would change little is skipped; 0 when off. */
  readonly touchAfter: number
  /** Milliseconds any one Redis command may take; 0 when unbounded. */
  readonly timeout: number
  /** The most bytes a serialized session may take; undefined when unbounded. */
  readonly maxBytes: number | undefined
  /** "merge": a save keeps other requests' changes; "overwrite": the last save wins. */
  readonly concurrentWrites: ConcurrentWrites
  /** Seconds after its creation at which a session ends, however active; 0 when off. */
  readonly absoluteTimeout: number
  /** The most live sessions one owner may have; undefined when unlimited. */
  readonly maxSessionsPerOwner: number | undefined
  /** What a write over maxSessionsPerOwner does. */
  readonly onTooManySessions: OnTooManySessions
  /** What `get` does while Redis is known to be unavailable. */
  readonly whileUnavailable: "reject" | "no-session"
  readonly #redis: SessionClient
  readonly #availability: Availability
  /** clear, length, ids, all, sessionsOf, revokeOwner. */
  readonly #admin: AdminCalls
  /** The per-owner index, with option `owner`. */
  readonly #owners: OwnerIndex | undefined
  /** The clients in use, with those the store built (which close() closes). */
  readonly #backend: Backend
  /** Saves with concurrentWrites "merge"; undefined for "overwrite". */
  readonly #merging: MergingWriter | undefined
  /** get. */
  readonly #reads: SessionReads
  /** set and touch. */
  readonly #writes: SessionWrites
  /** Reads kept for saves that come without createSession (renewal.ts). */
  readonly #inFlight: InFlightReads | undefined
  /** True when createSession carries the read's note to the Session it builds. */
  readonly #noteCarried: boolean
  #warnedAboutCorruption = false

  constructor(options: RedisStoreOptions)
  constructor(client: RedisClientLike, settings?: RedisStoreSettings)
  constructor(clientOrOptions: RedisClientLike | RedisStoreOptions, settings?: RedisStoreSettings) {
    super()
    const parts = assembleStore(resolveOptions(clientOrOptions, settings), {
      connection: (event, reason) => {
        publishConnection(this.prefix, event, reason)
        this.emit(event, reason)
      },
      server: (event, report) => {
        publishServer(this.prefix, event, report)
        this.emit(event, report)
      },
      corrupt: (error) => this.#reportCorrupt(error),
    })
    const {settings: checked} = parts
    this.timeout = checked.timeout
    this.tombstoneSeconds = checked.tombstoneSeconds
    this.touchAfter = checked.touchAfter
    this.prefix = checked.prefix
    this.ttl = checked.ttl
    this.disableTTL = checked.disableTTL
    this.disableTouch = checked.disableTouch
    this.serializer = checked.serializer
    this.scanCount = checked.scanCount
    this.maxBytes = checked.maxBytes
    this.concurrentWrites = checked.concurrentWrites
    this.absoluteTimeout = checked.absoluteTimeout
    this.maxSessionsPerOwner = checked.maxSessionsPerOwner
    this.onTooManySessions = checked.onTooManySessions
    this.whileUnavailable = checked.whileUnavailable
    this.#merging = parts.merging
    this.#reads = parts.reads
    this.#writes = parts.writes
    this.#inFlight = parts.inFlight
    this.#noteCarried = parts.noteCarried
    this.#backend = parts.backend
    this.#redis = parts.backend.redis
    this.clients = parts.backend.clients
    this.client = this.clients[0] as RedisClientLike
    this.#admin = new AdminCalls(this.prefix, parts.bulk, parts.owners)
    this.#owners = parts.owners
    this.#availability = parts.availability
  }

  /**
   * Closes the client the store built from settings (`url`, `host`...), and stops watching
   * it. A client the app gave is the app's to close: it is left as it is.
   */
  close(callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      this.#availability.stop()
      this.#redis.release()
      await this.#backend.close()
    }) as Promise<void>
  }

  /** The session stored for `sid`, or null when there is none (or it cannot be read). */
  get(sid: string): Promise<SessionData | null>
  get(sid: string, callback: Callback<SessionData | null>): Promise<void>
  get(sid: string, callback?: Callback<SessionData | null>): Promise<unknown> {
    if (callback != null) return relay(callback, this.#get, this, sid, undefined)
    return this.#get(sid)
  }

  #get(sid: string): Promise<SessionData | null> {
    // get, set and touch return the client layer's one promise (they are not async functions
    // awaiting it): they run on every request, and each promise costs. A traced call (someone
    // listens to the diagnostics channels) takes a path of its own.
    if (isTraced(GET)) return traced("get", this.prefix, sid, (t) => this.#reads.get(sid, t), "hit")
    return this.#reads.get(sid)
  }

  /**
   * express-session builds each request's Session here from what `get` returned; the Session
   * keeps what was loaded (for a merging save) and until when the read made it live (for its
   * touch, which then sends nothing).
   */
  override createSession(
    req: Parameters<Store["createSession"]>[0],
    data: SessionData,
  ): Session & SessionData {
    // express-session copies the data's fields into a new Session; `data` stays the object
    // `get` returned (only its cookie is replaced), so its note is still there to carry.
    const session = super.createSession(req, data)
    if (this.#noteCarried) carryNote(data, session)
    // The note travels with the Session: reads need not be kept for saves without one.
    this.#inFlight?.notWanted()
    return session
  }

  /**
   * Writes the session with its TTL; a session whose TTL is <= 0 is deleted instead. A
   * destroyed session (its tombstone still there) is left dead: the write changes nothing.
   */
  set(sid: string, session: SessionData): Promise<void>
  set(sid: string, session: SessionData, callback: Callback<void>): Promise<void>
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    if (callback != null) return relay(callback, this.#set, this, sid, session)
    return this.#set(sid, session)
  }

  #set(sid: string, session: SessionData): Promise<void> {
    if (isTraced(SET)) {
      return traced("set", this.prefix, sid, (t) => this.#writes.set(sid, session, t), "written")
    }
    return this.#writes.set(sid, session)
  }

  /**
   * Re-times an existing session (never creates one, never revives a destroyed one); a TTL
   * <= 0 deletes it. With `touchAfter`, a touch that would change little is skipped.
   */
  override touch(sid: string, session: SessionData): Promise<void>
  override touch(sid: string, session: SessionData, callback: Callback<void>): Promise<void>
  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    if (callback != null) return relay(callback, this.#touch, this, sid, session)
    return this.#touch(sid, session)
  }

  #touch(sid: string, session: SessionData): Promise<void> {
    if (isTraced(TOUCH)) {
      return traced(
        "touch",
        this.prefix,
        sid,
        (t) => this.#writes.touch(sid, session, t),
        "touched",
      )
    }
    return this.#writes.touch(sid, session)
  }

  /**
   * Ends the session. With tombstones (the default), a tombstone takes its place for
   * `tombstoneSeconds`, so that no late write from a request still in flight revives it.
   */
  override destroy(sid: string): Promise<void>
  override destroy(sid: string, callback: Callback<void>): Promise<void>
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    if (callback != null) return relay(callback, this.#traceDestroy, this, sid, undefined)
    return this.#traceDestroy(sid)
  }

  #traceDestroy(sid: string): Promise<void> {
    if (isTraced(DESTROY)) {
      return traced("destroy", this.prefix, sid, (t) => this.#destroy(sid, t), "destroyed")
    }
    return this.#destroy(sid)
  }

  async #destroy(sid: string, trace?: OperationTrace): Promise<void> {
    assertSid(sid)
    const key = this.prefix + sid
    this.#inFlight?.forget(sid)
    // With an owner index: what the session held says whose index to take it out of.
    const held = this.#owners && (await this.#reads.get(sid))
    await this.#redis.end(key, trace)
    if (held !== undefined) await this.#owners?.forget(sid, held)
  }

  /**
   * Ends every session under this prefix, batch by batch (never one huge command); each
   * is destroyed as `destroy` does it (a tombstone stays, unless tombstones are off).
   * `{progress}` is told how many sessions are done after each batch.
   */
  override clear(): Promise<void>
  override clear(callback: Callback<void>): Promise<void>
  override clear(options: {progress: Progress}): Promise<void>
  override clear(callbackOrOptions?: Callback<void> | {progress: Progress}): Promise<void> {
    if (typeof callbackOrOptions === "object" && callbackOrOptions !== null) {
      return this.#admin.clear(callbackOrOptions.progress)
    }
    return withCallback(callbackOrOptions, () => this.#admin.clear(undefined))
  }

  /**
   * How many sessions there are (tombstones not counted), without holding their keys.
   * `{progress}` is told the count so far after each batch.
   */
  override length(): Promise<number>
  override length(callback: Callback<number>): Promise<void>
  override length(options: {progress: Progress}): Promise<number>
  override length(callbackOrOptions?: Callback<number> | {progress: Progress}): Promise<unknown> {
    if (typeof callbackOrOptions === "object" && callbackOrOptions !== null) {
      return this.#admin.length(callbackOrOptions.progress)
    }
    return withCallback(callbackOrOptions, () => this.#admin.length(undefined))
  }

  /** The id of every session. */
  ids(): Promise<string[]>
  ids(callback: Callback<string[]>): Promise<void>
  ids(callback?: Callback<string[]>): Promise<unknown> {
    return withCallback(callback, () => this.#admin.ids())
  }

  /**
   * Every readable session as `[id, session]`, read `scanCount` at a time from every master,
   * without holding more than a batch: for admin work on any number of sessions. Breaking
   * out of the loop stops the walk. Tombstones and unreadable values are skipped; each id
   * comes once (told apart by a 52-bit fingerprint, as in `length()`).
   * @example for await (const [id, session] of store.entries()) if (session.user?.id === 7) ...
   */
  entries(): AsyncGenerator<[string, SessionData]> {
    return this.#admin.entries()
  }

  /** Every readable session, each with its `id`; values that cannot be read are skipped. */
  override all(): Promise<SessionWithId[]>
  override all(callback: Callback<SessionWithId[]>): Promise<void>
  override all(callback?: Callback<SessionWithId[]>): Promise<unknown> {
    return withCallback(callback, () => this.#admin.all())
  }

  /**
   * Every live session of one owner (option `owner`), each with its id, its data, when it
   * was created and when it was last seen, in time proportional to that owner's sessions.
   * Checked against the sessions themselves: one that expired, was destroyed or changed
   * hands since it was indexed is not listed.
   * @example const devices = await store.sessionsOf(user.id)
   */
  sessionsOf(owner: string | number): Promise<OwnedSession[]>
  sessionsOf(owner: string | number, callback: Callback<OwnedSession[]>): Promise<void>
  sessionsOf(owner: string | number, callback?: Callback<OwnedSession[]>): Promise<unknown> {
    return withCallback(callback, () => this.#admin.sessionsOf(owner))
  }

  /**
   * Logs one owner out everywhere, or everywhere but `{except}` ("log out my other
   * devices"): ends each of their sessions as `destroy` does (final, with tombstones).
   * Resolves to how many sessions were ended. An indexed session that cannot be confirmed as
   * the owner's (its value cannot be read, or the owner function finds no owner in it) is
   * left alone and kept in the index; `{unconfirmed}` hears their ids.
   * @example await store.revokeOwner(user.id) // after a password change
   * @example await store.revokeOwner(user.id, {except: [req.sessionID]})
   */
  revokeOwner(owner: string | number): Promise<number>
  revokeOwner(owner: string | number, callback: Callback<number>): Promise<void>
  revokeOwner(owner: string | number, options: RevokeOptions): Promise<number>
  revokeOwner(
    owner: string | number,
    callbackOrOptions?: Callback<number> | RevokeOptions,
  ): Promise<unknown> {
    const options = typeof callbackOrOptions === "object" ? callbackOrOptions : undefined
    const callback = typeof callbackOrOptions === "object" ? undefined : callbackOrOptions
    return withCallback(callback, () => this.#admin.revokeOwner(owner, options))
  }

  #reportCorrupt(error: CorruptSessionError): void {
    publishUnreadable(this.prefix, error.sid)
    if (this.listenerCount("corrupt") > 0) {
      this.emit("corrupt", error)
    } else if (!this.#warnedAboutCorruption) {
      // Nobody listens: say it once where operators look, rather than not at all.
      this.#warnedAboutCorruption = true
      process.emitWarning(
        `${error.message}. Listen to the store's "corrupt" event to see every occurrence.`,
        {type: "RedisStoreWarning"},
      )
    }
  }
}
