// The store's options: their types, documented once (mirrored in the README), and their
// checks, run once at construction so that a typo fails loudly and early.

import type {SessionData} from "express-session"
import type {OwnerOf} from "../owners/owner-index.js"
import {isSupportedClient} from "../redis/index.js"
import {type ClientSettings, hasClientSettings} from "../redis/owned-client.js"
import {describeValue} from "./keys.js"
import type {ResolveConflict} from "./merge.js"
import type {TtlOption} from "./ttl.js"

/** Turns a session into the string stored in Redis and back. `parse` may be async. */
export interface Serializer {
  parse(text: string): SessionData | Promise<SessionData>
  stringify(session: SessionData): string | Promise<string>
}

/**
 * A Redis client RedisStore accepts: a node-redis 4, 5 or 6 client, cluster or sentinel, or
 * an ioredis 5/6 or iovalkey client or cluster. The exact kind is checked when the store is
 * built.
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
  /**
   * Seconds a destroyed (or cleared) session stays dead: `destroy` leaves a tombstone at its
   * key for this long, and while it lives a late `set` or `touch` of that id (from a request
   * that loaded the session before the logout) changes nothing. Rounded up to whole seconds.
   * 0 turns tombstones off: `destroy` is a plain DEL, as in connect-redis.
   * @default 300
   * @example new RedisStore({client, tombstoneSeconds: 3600}) // for requests up to an hour long
   */
  tombstoneSeconds?: number | undefined
  /**
   * Seconds: re-time an unchanged session at most once per window. A `touch` that would push
   * the session's expiry in Redis later by less than this is skipped, without any Redis
   * command. A session may then expire up to `touchAfter` seconds before its cookie does,
   * and never after. 0 re-times on every `touch`.
   * @default 0
   * @example new RedisStore({client, touchAfter: 3600}) // at most one GETEX an hour a session
   */
  touchAfter?: number | undefined
  /**
   * Milliseconds any one Redis command may take. When Redis is unreachable, restarting or
   * stalled, every method settles within this with a `RedisUnavailableError` (code
   * `ETIMEDOUT`), and a command still waiting in the client's queue is withdrawn, so it
   * never takes effect later. Bulk methods apply it to each command, not to the whole walk.
   * It is also how long a client's first connection may take: until then commands wait in
   * the store (never in the client's queue) and nothing is announced. 0 turns the bound off.
   * @default 2000
   * @example new RedisStore({client, timeout: 500})
   */
  timeout?: number | undefined
  /**
   * Emit `"disconnect"` when Redis stops being able to serve sessions and `"connect"` when it
   * can again. express-session then goes on without a session (`req.session` is undefined)
   * instead of failing requests. `false`: no events; requests get the errors instead.
   * @default true
   */
  connectionEvents?: boolean | undefined
  /**
   * The most bytes a session may take once serialized. A larger one is refused by `set` with
   * a `SessionTooLargeError`, and what was stored before stays.
   * @default undefined (no limit)
   * @example new RedisStore({client, maxBytes: 64 * 1024})
   */
  maxBytes?: number | undefined
  /**
   * Who owns a session (a user id, say; undefined or null for nobody), for revoking by owner:
   * the store then keeps an index per owner, and `store.sessionsOf(owner)` and
   * `store.revokeOwner(owner)` take time in proportion to that owner's sessions. Costs one
   * more Redis command per `set` and `touch` of an owned session, and two per `destroy`
   * (the session is read first, to learn its owner).
   * @default undefined (no index)
   * @example new RedisStore({client, owner: (session) => session.userId})
   */
  owner?: OwnerOf | undefined
  /**
   * Seconds after its creation at which a session ends, however active it is (an absolute
   * timeout, beside the idle one the cookie gives). Its life in Redis is never set beyond
   * that moment, and `get` never returns it after. The creation time is kept in the session
   * as the field `sessionCreatedAt` (Unix ms), which the app sees: see docs/devices.md.
   * @default 0 (off)
   * @example new RedisStore({client, absoluteTimeout: 12 * 60 * 60}) // 12 hours
   */
  absoluteTimeout?: number | undefined
  /**
   * The most live sessions one owner may have (needs `owner`). A write that would add one
   * more does what `onTooManySessions` says, decided atomically in Redis: ten logins at once
   * still leave at most this many.
   * @default undefined (no limit)
   * @example new RedisStore({client, owner: (s) => s.userId, maxSessionsPerOwner: 3})
   */
  maxSessionsPerOwner?: number | undefined
  /**
   * With maxSessionsPerOwner, what a write over the limit does. "revokeOldest": the owner's
   * least recently seen other session ends (final, as `destroy`). "refuse": the write is
   * rejected with a `TooManySessionsError` and nothing changes.
   * @default "revokeOldest"
   * @example new RedisStore({client, owner, maxSessionsPerOwner: 1, onTooManySessions: "refuse"})
   */
  onTooManySessions?: "revokeOldest" | "refuse" | undefined
  /**
   * What a save does when another request of the same user saved the session after this
   * one loaded it. "merge": the save keeps the other request's changes, field by field (top
   * level): a field this request did not change keeps what the other wrote; one both changed
   * goes to `resolveConflict`, else to this request. "overwrite": the last save wins whole,
   * as in connect-redis. Not available with `clients` (there the default is "overwrite").
   * @default "merge"
   * @example new RedisStore({client, concurrentWrites: "overwrite"})
   */
  concurrentWrites?: "merge" | "overwrite" | undefined
  /**
   * With concurrentWrites "merge": decides a field that this request and another both
   * changed, to different values. Returns the value to keep (undefined removes the field).
   * Without it, this request's value wins. Values come as each side's serializer gave them.
   * @default undefined (this request's value)
   * @example
   * // A cart held as an array, merged line by line (the whole function is in
   * // examples/resolve-cart.ts and docs/concurrent-writes.md):
   * resolveConflict: (field, {base, mine, theirs}) =>
   *   field === "cart" ? mergeCartLines(base, mine, theirs) : mine
   */
  resolveConflict?: ResolveConflict | undefined
  /**
   * What `get` does while Redis is known to be unavailable (between the store's
   * `disconnect` and `connect`). "reject": it fails at once with a RedisUnavailableError
   * (ENOTCONN). "no-session": it answers at once with a session that holds nothing but its
   * cookie, so that a framework that takes a failed read as fatal (@fastify/session answers
   * 500) serves the request as anonymous and keeps the browser's cookie, as express-session
   * does by itself; saving that empty session back is skipped. Any other write fails at
   * once either way: nothing pretends to be saved. The calls that find the outage first
   * still take up to `timeout`.
   * @default "reject"
   * @example new RedisStore({client, whileUnavailable: "no-session"}) // with @fastify/session
   */
  whileUnavailable?: "reject" | "no-session" | undefined
}

/** The single-argument form: `new RedisStore({client, ...settings})`. */
export interface RedisStoreWithClient extends RedisStoreSettings {
  /** The Redis client sessions are kept in: the app's own, which the store never closes. */
  client: RedisClientLike
}

/**
 * The store builds its own node-redis client from these (connect-redis 3's settings), and
 * `store.close()` closes it. Needs the `redis` package.
 * @example new RedisStore({url: process.env.REDIS_URL, prefix: "myapp:"})
 */
export interface RedisStoreWithSettings extends RedisStoreSettings, ClientSettings {
  client?: undefined
}

/**
 * Redundant mode: the same sessions on several independent Redis servers, each given as a
 * client or as settings for one. Needs tombstones (`tombstoneSeconds` above 0).
 * @example new RedisStore({clients: [{url: "redis://a:6379"}, {url: "redis://b:6379"}]})
 */
export interface RedisStoreWithServers extends RedisStoreSettings {
  clients: readonly (RedisClientLike | ClientSettings)[]
  client?: undefined
}

export type RedisStoreOptions =
  | RedisStoreWithClient
  | RedisStoreWithSettings
  | RedisStoreWithServers

export const DEFAULT_TOMBSTONE_SECONDS = 300
export const DEFAULT_TIMEOUT_MS = 2000
/** setTimeout's largest delay. */
const MAX_TIMEOUT_MS = 2_147_483_647

/** Accepts both `new RedisStore({client, ...})` and `new RedisStore(client, {...})`. */
export function resolveOptions(
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
    ("client" in clientOrOptions || "clients" in clientOrOptions)
  ) {
    if (settings !== undefined) {
      throw new TypeError(
        "Pass either new RedisStore({client, ...options}) or new RedisStore(client, options)",
      )
    }
    return clientOrOptions as RedisStoreOptions
  }
  if (typeof clientOrOptions === "object" && clientOrOptions !== null) {
    if (hasClientSettings(clientOrOptions)) {
      if (settings !== undefined) {
        throw new TypeError("Pass client settings (url, host, port...) in the one options object")
      }
      return clientOrOptions as RedisStoreOptions
    }
  }
  // Not a client and not options: let the client check say what is accepted.
  return {client: clientOrOptions as RedisClientLike}
}

export function validatePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return "sess:"
  if (typeof prefix !== "string") {
    throw new TypeError(`options.prefix must be a string; got ${describeValue(prefix)}`)
  }
  return prefix
}

export function validateFlag(name: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== "boolean") {
    throw new TypeError(`options.${name} must be a boolean; got ${describeValue(value)}`)
  }
  return value
}

export function validateSerializer(serializer: unknown): Serializer {
  if (serializer === undefined) return JSON
  const candidate = serializer as Partial<Serializer> | null
  if (typeof candidate?.parse !== "function" || typeof candidate.stringify !== "function") {
    throw new TypeError("options.serializer must have parse(text) and stringify(session) functions")
  }
  return candidate as Serializer
}

export function validateScanCount(scanCount: unknown): number {
  if (scanCount === undefined) return 100
  if (typeof scanCount !== "number" || !Number.isInteger(scanCount) || scanCount < 1) {
    throw new TypeError(
      `options.scanCount must be a positive integer; got ${describeValue(scanCount)}`,
    )
  }
  return scanCount
}

/** A number of seconds that may be 0 (off); fractions are rounded up to whole seconds. */
export function validateSeconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `options.${name} must be a number of seconds, 0 or more; got ${describeValue(value)}`,
    )
  }
  return Math.ceil(value)
}

export function validateTimeout(timeout: unknown): number {
  if (timeout === undefined) return DEFAULT_TIMEOUT_MS
  if (typeof timeout !== "number" || !(timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) {
    throw new TypeError(
      `options.timeout must be a number of milliseconds from 0 (no bound) to ${MAX_TIMEOUT_MS}; got ${describeValue(timeout)}`,
    )
  }
  return timeout
}

/** concurrentWrites, given redundant mode (which cannot merge, and so defaults to overwrite). */
export function validateConcurrentWrites(
  value: unknown,
  redundant: boolean,
): "merge" | "overwrite" {
  if (value === undefined) return redundant ? "overwrite" : "merge"
  if (value !== "merge" && value !== "overwrite") {
    throw new TypeError(
      `options.concurrentWrites must be "merge" or "overwrite"; got ${describeValue(value)}`,
    )
  }
  if (value === "merge" && redundant) {
    throw new TypeError(
      'concurrentWrites "merge" is not available with options.clients: each server would merge on its own. Use "overwrite" (the default there)',
    )
  }
  return value
}

export function validateResolveConflict(value: unknown): ResolveConflict | undefined {
  if (value === undefined) return undefined
  if (typeof value !== "function") {
    throw new TypeError(
      `options.resolveConflict must be a function (field, {base, mine, theirs}); got ${describeValue(value)}`,
    )
  }
  return value as ResolveConflict
}

export function validateMaxBytes(maxBytes: unknown): number | undefined {
  if (maxBytes === undefined) return undefined
  if (typeof maxBytes !== "number" || !Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new TypeError(
      `options.maxBytes must be a positive integer; got ${describeValue(maxBytes)}`,
    )
  }
  return maxBytes
}

/** maxSessionsPerOwner, which needs an owner to count by. */
export function validateMaxSessionsPerOwner(max: unknown, owner: unknown): number | undefined {
  if (max === undefined) return undefined
  if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
    throw new TypeError(
      `options.maxSessionsPerOwner must be a positive integer; got ${describeValue(max)}`,
    )
  }
  if (owner === undefined) {
    throw new TypeError("options.maxSessionsPerOwner needs the option owner (who owns a session)")
  }
  return max
}

export function validateWhileUnavailable(value: unknown): "reject" | "no-session" {
  if (value === undefined) return "reject"
  if (value !== "reject" && value !== "no-session") {
    throw new TypeError(
      `options.whileUnavailable must be "reject" or "no-session"; got ${describeValue(value)}`,
    )
  }
  return value
}

export function validateOnTooManySessions(
  value: unknown,
  maxSessionsPerOwner: number | undefined,
): "revokeOldest" | "refuse" {
  if (value === undefined) return "revokeOldest"
  if (value !== "revokeOldest" && value !== "refuse") {
    throw new TypeError(
      `options.onTooManySessions must be "revokeOldest" or "refuse"; got ${describeValue(value)}`,
    )
  }
  if (maxSessionsPerOwner === undefined) {
    throw new TypeError("options.onTooManySessions needs options.maxSessionsPerOwner")
  }
  return value
}
