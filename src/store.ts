import {type SessionData, Store} from "express-session"
import {Availability} from "./availability.js"
import {type Callback, withCallback} from "./callback.js"
import {type ScanBatch, type SessionClient, toSessionClient} from "./clients/index.js"
import {type CorruptSessionError, SessionCodec} from "./codec.js"
import {DistinctCounter} from "./distinct-counter.js"
import {assertSid, describeValue} from "./keys.js"
import {
  DEFAULT_TOMBSTONE_SECONDS,
  type RedisClientLike,
  type RedisStoreOptions,
  type RedisStoreSettings,
  resolveOptions,
  type Serializer,
  validateFlag,
  validatePrefix,
  validateScanCount,
  validateSeconds,
  validateSerializer,
  validateTimeout,
} from "./options.js"
import {isWrongType, READ_SESSION_WITH_TTL, TOMBSTONE_SESSIONS} from "./scripts.js"
import {markExpiry, touchCanWait, unmarkExpiry} from "./touch-after.js"
import {sessionTtl, type TtlOption, validateTtlOption} from "./ttl.js"

/** A session as `all()` returns it: the stored data with its id. */
export type SessionWithId = SessionData & {id: string}

/** express-session store backed by Redis; a drop-in replacement for connect-redis. */
export class RedisStore extends Store {
  /** The client given at construction. */
  readonly client: RedisClientLike
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
  readonly #redis: SessionClient
  readonly #availability: Availability | undefined
  readonly #codec: SessionCodec
  #warnedAboutCorruption = false

  constructor(options: RedisStoreOptions)
  constructor(client: RedisClientLike, settings?: RedisStoreSettings)
  constructor(clientOrOptions: RedisClientLike | RedisStoreOptions, settings?: RedisStoreSettings) {
    super()
    const options = resolveOptions(clientOrOptions, settings)
    this.timeout = validateTimeout(options.timeout)
    this.#redis = toSessionClient(options.client, this.timeout, (error) =>
      this.#availability?.commandFailed(error),
    )
    this.client = options.client
    this.prefix = validatePrefix(options.prefix)
    this.ttl = validateTtlOption(options.ttl)
    this.disableTTL = validateFlag("disableTTL", options.disableTTL)
    this.disableTouch = validateFlag("disableTouch", options.disableTouch)
    this.serializer = validateSerializer(options.serializer)
    this.scanCount = validateScanCount(options.scanCount)
    this.tombstoneSeconds = validateSeconds(
      "tombstoneSeconds",
      options.tombstoneSeconds,
      DEFAULT_TOMBSTONE_SECONDS,
    )
    this.touchAfter = validateSeconds("touchAfter", options.touchAfter, 0)
    this.#codec = new SessionCodec(this.serializer, (error) => this.#reportCorrupt(error))
    this.#availability = validateFlag("connectionEvents", options.connectionEvents ?? true)
      ? new Availability(
          this.#redis,
          (event, reason) => this.emit(event, reason),
          Math.min(this.timeout || 1000, 1000),
        )
      : undefined
  }

  /** The session stored for `sid`, or null when there is none (or it cannot be read). */
  get(sid: string): Promise<SessionData | null>
  get(sid: string, callback: Callback<SessionData | null>): Promise<void>
  get(sid: string, callback?: Callback<SessionData | null>): Promise<unknown> {
    // No closure on the promise path: this runs on every request.
    return callback == null ? this.#get(sid) : withCallback(callback, () => this.#get(sid))
  }

  async #get(sid: string): Promise<SessionData | null> {
    assertSid(sid)
    const key = this.prefix + sid
    if (this.touchAfter > 0) return this.#getWithExpiry(key, sid)
    let raw: string | null
    try {
      raw = await this.#redis.get(key)
    } catch (error) {
      // A key of another type is a tombstone: the session was destroyed.
      if (isWrongType(error)) return null
      throw error
    }
    return raw === null ? null : this.#codec.read(raw, sid)
  }

  /** For touchAfter: the value and its expiry in one round trip, the expiry left on it. */
  async #getWithExpiry(key: string, sid: string): Promise<SessionData | null> {
    const reply = await this.#redis.runScript(READ_SESSION_WITH_TTL, [key], [])
    if (!Array.isArray(reply)) return null
    const session = await this.#codec.read(String(reply[0]), sid)
    if (session) markExpiry(session, Number(reply[1]), Date.now())
    return session
  }

  /**
   * Writes the session with its TTL; a session whose TTL is <= 0 is deleted instead. A
   * destroyed session (its tombstone still there) is left dead: the write changes nothing.
   */
  set(sid: string, session: SessionData): Promise<void>
  set(sid: string, session: SessionData, callback: Callback<void>): Promise<void>
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return callback == null
      ? this.#set(sid, session)
      : withCallback(callback, () => this.#set(sid, session))
  }

  async #set(sid: string, session: SessionData): Promise<void> {
    assertSid(sid)
    assertSessionObject(session)
    const key = this.prefix + sid
    const ttl = sessionTtl(session, this.ttl, Date.now())
    if (ttl <= 0) {
      await this.#retime(key, ttl)
      return
    }
    if (this.touchAfter > 0) unmarkExpiry(session)
    const value = this.#codec.serialize(session)
    const seconds = this.disableTTL ? undefined : ttl
    if (this.tombstoneSeconds === 0) {
      await this.#redis.set(key, value, seconds, false)
    } else {
      await this.#redis.set(key, value, seconds, true).catch(ignoreWrongType)
    }
  }

  /**
   * Re-times an existing session (never creates one, never revives a destroyed one); a TTL
   * <= 0 deletes it. With `touchAfter`, a touch that would change little is skipped.
   */
  override touch(sid: string, session: SessionData): Promise<void>
  override touch(sid: string, session: SessionData, callback: Callback<void>): Promise<void>
  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return callback == null
      ? this.#touch(sid, session)
      : withCallback(callback, () => this.#touch(sid, session))
  }

  async #touch(sid: string, session: SessionData): Promise<void> {
    assertSid(sid)
    assertSessionObject(session)
    if (this.disableTouch || this.disableTTL) return
    const now = Date.now()
    const ttl = sessionTtl(session, this.ttl, now)
    if (this.touchAfter > 0 && touchCanWait(session, ttl, this.touchAfter * 1000, now)) return
    await this.#retime(this.prefix + sid, ttl)
  }

  /**
   * EXPIRE, or DEL when `ttl` <= 0. With tombstones, GETEX and GETDEL instead: they refuse
   * a tombstone (WRONGTYPE) without touching it, which is the answer we want.
   */
  #retime(key: string, ttl: number): Promise<unknown> {
    if (this.tombstoneSeconds === 0) {
      return ttl <= 0 ? this.#redis.del(key) : this.#redis.expire(key, ttl)
    }
    const guarded = ttl <= 0 ? this.#redis.getDel(key) : this.#redis.getEx(key, ttl)
    return guarded.catch(ignoreWrongType)
  }

  /**
   * Ends the session. With tombstones (the default), a tombstone takes its place for
   * `tombstoneSeconds`, so that no late write from a request still in flight revives it.
   */
  override destroy(sid: string): Promise<void>
  override destroy(sid: string, callback: Callback<void>): Promise<void>
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return callback == null ? this.#destroy(sid) : withCallback(callback, () => this.#destroy(sid))
  }

  async #destroy(sid: string): Promise<void> {
    assertSid(sid)
    const key = this.prefix + sid
    if (this.tombstoneSeconds > 0) {
      await this.#redis.runScript(TOMBSTONE_SESSIONS, [key], this.#tombstoneArgs())
    } else {
      await this.#redis.del(key)
    }
  }

  #tombstoneArgs(): string[] {
    return [`${this.tombstoneSeconds}`, `${Date.now()}`]
  }

  /**
   * Ends every session under this prefix, batch by batch (never one huge command); each
   * is destroyed as `destroy` does it (a tombstone stays, unless tombstones are off).
   */
  override clear(): Promise<void>
  override clear(callback: Callback<void>): Promise<void>
  override clear(callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      await this.#eachBatch(async (keys, source) => {
        if (this.tombstoneSeconds > 0) {
          await this.#redis.runScriptPerSlot(
            TOMBSTONE_SESSIONS,
            keys,
            this.#tombstoneArgs(),
            source,
          )
        } else {
          await this.#redis.unlink(keys, source)
        }
      })
    })
  }

  /** How many sessions there are (tombstones not counted), without holding their keys. */
  override length(): Promise<number>
  override length(callback: Callback<number>): Promise<void>
  override length(callback?: Callback<number>): Promise<unknown> {
    return withCallback(callback, async () => {
      const counter = new DistinctCounter()
      for await (const {keys} of this.#keyBatches()) for (const key of keys) counter.add(key)
      return counter.size
    })
  }

  /** The id of every session. */
  ids(): Promise<string[]>
  ids(callback: Callback<string[]>): Promise<void>
  ids(callback?: Callback<string[]>): Promise<unknown> {
    return withCallback(callback, async () => {
      const ids = new Set<string>()
      for await (const {keys} of this.#keyBatches()) {
        for (const key of keys) ids.add(this.#sidOf(key))
      }
      return [...ids]
    })
  }

  /** Every readable session, each with its `id`; values that cannot be read are skipped. */
  override all(): Promise<SessionWithId[]>
  override all(callback: Callback<SessionWithId[]>): Promise<void>
  override all(callback?: Callback<SessionWithId[]>): Promise<unknown> {
    return withCallback(callback, async () => {
      const seen = new Set<string>()
      const sessions: SessionWithId[] = []
      await this.#eachBatch(async (batch, source) => {
        const keys = batch.filter((key) => !seen.has(key) && seen.add(key))
        if (keys.length === 0) return
        const values = await this.#redis.mget(keys, source)
        const read = await Promise.all(
          keys.map((key, i) => {
            const raw = values[i]
            // null: the key expired, was deleted or became a tombstone since SCAN.
            return raw === null || raw === undefined
              ? null
              : this.#codec.read(raw, this.#sidOf(key))
          }),
        )
        keys.forEach((key, i) => {
          const session = read[i]
          if (session) sessions.push(Object.assign(session, {id: this.#sidOf(key)}))
        })
      })
      return sessions
    })
  }

  /**
   * Runs `handle` on each batch of keys while the next SCAN is already on its way, so a
   * batch costs one round trip rather than two. At most two batches are in flight at once:
   * bulk work never floods Redis or the heap, whatever the number of sessions.
   */
  async #eachBatch(handle: (keys: string[], source: unknown) => Promise<void>): Promise<void> {
    let inFlight: Promise<void> | undefined
    try {
      for await (const {keys, source} of this.#keyBatches()) {
        const previous = inFlight
        inFlight = handle(keys, source)
        // Marked as handled now, awaited (and its error thrown) below: a batch that fails
        // while we wait for SCAN must not surface as an unhandled rejection.
        inFlight.catch(() => {})
        await previous
      }
    } finally {
      // Also on a failed SCAN: never leave a batch running behind the caller's back.
      await inFlight?.catch(() => {})
    }
    await inFlight
  }

  /**
   * Keys under our prefix, at most `scanCount` at a time, from every master. SCAN's COUNT
   * is only a hint, so a long reply is cut to size here.
   */
  async *#keyBatches(): AsyncGenerator<ScanBatch> {
    const limit = this.scanCount
    for await (const reply of this.#redis.scan(this.prefix, limit)) {
      // MATCH already selects our keys; checking again keeps the promise never to read or
      // delete another prefix's key even if a client bent the pattern.
      const keys = reply.keys.filter((key) => key.startsWith(this.prefix))
      for (let start = 0; start < keys.length; start += limit) {
        yield {
          keys: keys.length <= limit ? keys : keys.slice(start, start + limit),
          source: reply.source,
        }
      }
    }
  }

  #sidOf(key: string): string {
    return key.slice(this.prefix.length)
  }

  #reportCorrupt(error: CorruptSessionError): void {
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

/**
 * A guarded write met a tombstone (or another type) at the key: the session was destroyed,
 * and the write is refused. That is not an error: express-session would turn it into a 500
 * for a request that is already answered.
 */
function ignoreWrongType(error: unknown): void {
  if (!isWrongType(error)) throw error
}

function assertSessionObject(session: unknown): asserts session is SessionData {
  if (typeof session !== "object" || session === null || Array.isArray(session)) {
    throw new TypeError(`A session must be an object; got ${describeValue(session)}`)
  }
}
