import {type SessionData, Store} from "express-session"
import {type Callback, withCallback} from "./callback.js"
import {
  isSupportedClient,
  type ScanBatch,
  type SessionClient,
  toSessionClient,
} from "./clients/index.js"
import {DistinctCounter} from "./distinct-counter.js"
import {assertSid, describeValue} from "./keys.js"
import {sessionTtl, type TtlOption, validateTtlOption} from "./ttl.js"

/** Turns a session into the string stored in Redis and back. `parse` may be async. */
export interface Serializer {
  parse(text: string): SessionData | Promise<SessionData>
  stringify(session: SessionData): string
}

/**
 * A Redis client RedisStore accepts: a node-redis 4, 5 or 6 client, cluster or sentinel.
 * The exact kind is checked when the store is built.
 */
export interface RedisClientLike {
  get: (...args: never[]) => unknown
  set: (...args: never[]) => unknown
}

/** Everything but the client: the second argument of `new RedisStore(client, options)`. */
export interface RedisStoreSettings {
  /**
   * Put before every session id to make its key.
   * @default "sess:"
   * @example new RedisStore({client, prefix: "myapp:sess:"})
   */
  prefix?: string | undefined
  /**
   * Seconds a session lives when its cookie has no `expires`, or a function of the session
   * that decides alone. Rounded up to whole seconds; a result <= 0 ends the session.
   * @default 86400 (one day)
   * @example new RedisStore({client, ttl: (session) => (session.user ? 7 * 86400 : 3600)})
   */
  ttl?: TtlOption | undefined
  /**
   * Store sessions without expiry in Redis, and make `touch` do nothing.
   * @default false
   */
  disableTTL?: boolean | undefined
  /**
   * Make `touch` do nothing, so an unchanged session is not re-timed on every request.
   * @default false
   */
  disableTouch?: boolean | undefined
  /**
   * How sessions are written as strings. `parse` may return a promise.
   * @default JSON
   */
  serializer?: Serializer | undefined
  /**
   * COUNT hint of each SCAN in `ids`, `all`, `length` and `clear`, and the most keys any
   * one of their commands reads or deletes.
   * @default 100
   */
  scanCount?: number | undefined
}

/** The single-argument form: `new RedisStore({client, ...settings})`. */
export interface RedisStoreOptions extends RedisStoreSettings {
  /** The connected Redis client sessions are kept in. */
  client: RedisClientLike
}

/** A session as `all()` returns it: the stored data with its id. */
export type SessionWithId = SessionData & {id: string}

/**
 * Reported (event `"corrupt"`) when a stored value cannot be read as a session. The session
 * is treated as missing and the value stays in Redis for inspection. The session id is on
 * `sid`, kept out of the message and of `util.inspect` because it is a bearer secret.
 */
export class CorruptSessionError extends Error {
  override readonly name = "CorruptSessionError"
  declare readonly sid: string
  constructor(sid: string, reason: string, cause?: unknown) {
    super(`A stored session could not be read (${reason}); it was treated as missing`, {cause})
    Object.defineProperty(this, "sid", {value: sid, enumerable: false})
  }
}

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
  readonly #redis: SessionClient
  #warnedAboutCorruption = false

  constructor(options: RedisStoreOptions)
  constructor(client: RedisClientLike, settings?: RedisStoreSettings)
  constructor(clientOrOptions: RedisClientLike | RedisStoreOptions, settings?: RedisStoreSettings) {
    super()
    const options = resolveOptions(clientOrOptions, settings)
    this.#redis = toSessionClient(options.client)
    this.client = options.client
    this.prefix = validatePrefix(options.prefix)
    this.ttl = validateTtlOption(options.ttl)
    this.disableTTL = validateFlag("disableTTL", options.disableTTL)
    this.disableTouch = validateFlag("disableTouch", options.disableTouch)
    this.serializer = validateSerializer(options.serializer)
    this.scanCount = validateScanCount(options.scanCount)
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
    const raw = await this.#redis.get(this.prefix + sid)
    return raw === null ? null : this.#readSession(raw, sid)
  }

  /** Writes the session with its TTL; a session whose TTL is <= 0 is deleted instead. */
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
      await this.#redis.del(key)
      return
    }
    const value = this.#serialize(session)
    await this.#redis.set(key, value, this.disableTTL ? undefined : ttl)
  }

  /** Re-times an existing session (never creates one); a TTL <= 0 deletes it. */
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
    const key = this.prefix + sid
    const ttl = sessionTtl(session, this.ttl, Date.now())
    await (ttl <= 0 ? this.#redis.del(key) : this.#redis.expire(key, ttl))
  }

  override destroy(sid: string): Promise<void>
  override destroy(sid: string, callback: Callback<void>): Promise<void>
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return callback == null ? this.#destroy(sid) : withCallback(callback, () => this.#destroy(sid))
  }

  async #destroy(sid: string): Promise<void> {
    assertSid(sid)
    await this.#redis.del(this.prefix + sid)
  }

  /** Deletes every session under this prefix, batch by batch (never one huge command). */
  override clear(): Promise<void>
  override clear(callback: Callback<void>): Promise<void>
  override clear(callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      await this.#eachBatch(async (keys, source) => {
        await this.#redis.unlink(keys, source)
      })
    })
  }

  /** How many sessions there are, counted without holding their keys. */
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
            // null: the key expired or was deleted between SCAN and MGET.
            return raw === null || raw === undefined
              ? null
              : this.#readSession(raw, this.#sidOf(key))
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

  #serialize(session: SessionData): string {
    let value: unknown
    try {
      value = this.serializer.stringify(session)
    } catch (cause) {
      throw new TypeError(`The session cannot be serialized: ${messageOf(cause)}`, {cause})
    }
    if (typeof value !== "string") {
      throw new TypeError(
        `serializer.stringify must return a string; it returned ${describeValue(value)}`,
      )
    }
    return value
  }

  /**
   * Parses a stored value; anything that is not a usable session is reported and dropped.
   * Stays synchronous for a synchronous `parse` (JSON): `get` is on every request's path.
   */
  #readSession(raw: string, sid: string): SessionData | null | Promise<SessionData | null> {
    let parsed: unknown
    try {
      parsed = this.serializer.parse(raw)
    } catch (cause) {
      return this.#parseFailed(sid, cause)
    }
    if (isThenable(parsed)) {
      return Promise.resolve(parsed).then(
        (session: unknown) => this.#checkShape(session, sid),
        (cause: unknown) => this.#parseFailed(sid, cause),
      )
    }
    return this.#checkShape(parsed, sid)
  }

  #parseFailed(sid: string, cause: unknown): null {
    this.#reportCorrupt(new CorruptSessionError(sid, `parse failed: ${messageOf(cause)}`, cause))
    return null
  }

  #checkShape(session: unknown, sid: string): SessionData | null {
    if (isSessionShape(session)) return session
    this.#reportCorrupt(
      new CorruptSessionError(sid, `parsed to ${describeValue(session)} without a cookie object`),
    )
    return null
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

function resolveOptions(
  clientOrOptions: unknown,
  settings: RedisStoreSettings | undefined,
): RedisStoreOptions {
  if (settings !== undefined && (typeof settings !== "object" || settings === null)) {
    throw new TypeError(`RedisStore options must be an object; got ${describeValue(settings)}`)
  }
  if (isSupportedClient(clientOrOptions)) {
    return {...settings, client: clientOrOptions as RedisClientLike}
  }
  if (
    typeof clientOrOptions === "object" &&
    clientOrOptions !== null &&
    "client" in clientOrOptions
  ) {
    if (settings !== undefined) {
      throw new TypeError(
        "Pass either new RedisStore({client, ...options}) or new RedisStore(client, options)",
      )
    }
    return clientOrOptions as RedisStoreOptions
  }
  // Not a client and not options: let the client check say what is accepted.
  return {client: clientOrOptions as RedisClientLike}
}

function validatePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return "sess:"
  if (typeof prefix !== "string") {
    throw new TypeError(`options.prefix must be a string; got ${describeValue(prefix)}`)
  }
  return prefix
}

function validateFlag(name: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== "boolean") {
    throw new TypeError(`options.${name} must be a boolean; got ${describeValue(value)}`)
  }
  return value
}

function validateSerializer(serializer: unknown): Serializer {
  if (serializer === undefined) return JSON
  const candidate = serializer as Partial<Serializer> | null
  if (typeof candidate?.parse !== "function" || typeof candidate.stringify !== "function") {
    throw new TypeError("options.serializer must have parse(text) and stringify(session) functions")
  }
  return candidate as Serializer
}

function validateScanCount(scanCount: unknown): number {
  if (scanCount === undefined) return 100
  if (typeof scanCount !== "number" || !Number.isInteger(scanCount) || scanCount < 1) {
    throw new TypeError(
      `options.scanCount must be a positive integer; got ${describeValue(scanCount)}`,
    )
  }
  return scanCount
}

function assertSessionObject(session: unknown): asserts session is SessionData {
  if (typeof session !== "object" || session === null || Array.isArray(session)) {
    throw new TypeError(`A session must be an object; got ${describeValue(session)}`)
  }
}

/** What express-session needs to revive a session: an object with a cookie object. */
function isSessionShape(value: unknown): value is SessionData {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const cookie = (value as {cookie?: unknown}).cookie
  return typeof cookie === "object" && cookie !== null && !Array.isArray(cookie)
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as {then?: unknown} | null)?.then === "function"
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
