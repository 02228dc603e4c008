// Every error the store throws or reports, and what an error from Redis or a client means to
// the store, decided in one place.
//
// The rule for health: only an error that says a server cannot serve (a lost or refused
// connection, the time bound, CLUSTERDOWN, LOADING...) is an outage and reaches the probe.
// A reply Redis gave about the command itself (WRONGTYPE for a tombstone, NOSCRIPT, MOVED,
// ASK, a script's own refusal) is a normal answer: the server is there and serving.

/**
 * Marks the store's errors across copies of this package (its ESM and CommonJS builds are two
 * copies, and `instanceof` fails between them): `isRedisSessionStoreError` reads it.
 */
const BRAND = Symbol.for("redis-session-store.error")

/** The base of every error this package throws or reports; `code` says which one it is. */
export class RedisSessionStoreError extends Error {
  declare readonly [BRAND]: true
  constructor(
    readonly code: string,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
    Object.defineProperty(this, BRAND, {value: true})
  }
}

/**
 * Why a store method gave up on Redis: `ETIMEDOUT` (no answer within `timeout`), `ENOTCONN`
 * (no connection, an outage already known, or a client that was closed), or the server's
 * own "cannot serve now" reply as `E` + its code (`ELOADING`, `EBUSY`, `EMASTERDOWN`,
 * `ECLUSTERDOWN`, `ETRYAGAIN`, `EREADONLY`...; the reply is the `cause`).
 */
export class RedisUnavailableError extends RedisSessionStoreError {
  override readonly name = "RedisUnavailableError"
  declare readonly code: UnavailableCode
  constructor(code: UnavailableCode, message: string, options?: {cause?: unknown}) {
    super(code, message, options)
  }
}

/** The codes of RedisUnavailableError. */
export type UnavailableCode =
  | "ETIMEDOUT"
  | "ENOTCONN"
  | "ELOADING"
  | "EBUSY"
  | "EMASTERDOWN"
  | "ECLUSTERDOWN"
  | "ETRYAGAIN"
  | "EREADONLY"
  | "EMISCONF"
  | "ENOREPLICAS"
  | "ENOAUTH"
  | "EWRONGPASS"

/**
 * Reported (event `"corrupt"`) when a stored value cannot be read as a session. The session
 * is treated as missing and the value stays in Redis for inspection. The session id is on
 * `sid`, kept out of the message and of `util.inspect` because it is a bearer secret.
 */
export class CorruptSessionError extends RedisSessionStoreError {
  override readonly name = "CorruptSessionError"
  declare readonly code: "ECORRUPT"
  declare readonly sid: string
  constructor(sid: string, reason: string, cause?: unknown) {
    super("ECORRUPT", `A stored session could not be read (${reason}); it was treated as missing`, {
      cause,
    })
    Object.defineProperty(this, "sid", {value: sid, enumerable: false})
  }
}

/** A session refused by `set` because its stored form is over `maxBytes`. */
export class SessionTooLargeError extends RedisSessionStoreError {
  override readonly name = "SessionTooLargeError"
  declare readonly code: "ETOOLARGE"
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      "ETOOLARGE",
      `The session is ${bytes} bytes once serialized, over maxBytes (${maxBytes}); it was not written and what was stored before stays`,
    )
  }
}

/**
 * A save that met another request's write on each of its attempts (concurrentWrites
 * "merge"): nothing of it was written, and what the other requests wrote stays.
 */
export class ConcurrentWriteError extends RedisSessionStoreError {
  override readonly name = "ConcurrentWriteError"
  declare readonly code: "ECONFLICT"
  constructor(readonly attempts: number) {
    super(
      "ECONFLICT",
      `The session changed in Redis before each of ${attempts} attempts to save it; it was not saved, and the other requests' changes stay`,
    )
  }
}

/**
 * A write refused because it would give an owner more than `maxSessionsPerOwner` live
 * sessions (with `onTooManySessions: "refuse"`): nothing was written, and the owner's other
 * sessions are as they were. The app can ask the user to log out another device first.
 */
export class TooManySessionsError extends RedisSessionStoreError {
  override readonly name = "TooManySessionsError"
  declare readonly code: "ETOOMANYSESSIONS"
  constructor(readonly limit: number) {
    super(
      "ETOOMANYSESSIONS",
      `The owner already has ${limit} live session(s), the most maxSessionsPerOwner allows; this one was not saved`,
    )
  }
}

/** A mistake in the command line itself (it exits with status 2). */
export class UsageError extends RedisSessionStoreError {
  override readonly name = "UsageError"
  constructor(message: string) {
    super("EUSAGE", message)
  }
}

/** True for any error of this package, whichever copy (ESM or CommonJS) made it. */
export function isRedisSessionStoreError(error: unknown): error is RedisSessionStoreError {
  return error instanceof Error && (error as {[BRAND]?: unknown})[BRAND] === true
}

/** True when a store method gave up on Redis (time bound, no connection): retry later. */
export function isRedisUnavailableError(error: unknown): error is RedisUnavailableError {
  return isRedisSessionStoreError(error) && error.name === "RedisUnavailableError"
}

/**
 * Redis error replies start with an upper-case code ("WRONGTYPE Operation against...").
 * These are the codes that mean the server cannot serve now.
 */
const OUTAGE_REPLIES = new Set([
  "CLUSTERDOWN",
  "LOADING",
  "MASTERDOWN",
  "READONLY",
  "BUSY",
  "MISCONF",
  "NOREPLICAS",
  "NOAUTH",
  "WRONGPASS",
  "TRYAGAIN",
])

/** The error code a Redis reply starts with, or undefined when `message` is not a reply. */
function replyCode(message: string): string | undefined {
  const match = /^([A-Z][A-Z_-]*)(?: |$)/.exec(message)
  return match?.[1]
}

/**
 * True when `error` says the server (or the way to it) cannot serve now, so that the store
 * should look at its health; false for a normal answer about the command, and for a
 * caller's own mistake (TypeError).
 */
export function signalsOutage(error: unknown): boolean {
  if (isRedisUnavailableError(error)) return true
  if (error instanceof TypeError) return false
  const message = error instanceof Error ? error.message : String(error)
  const code = replyCode(message)
  // Not a reply from Redis: the client's own (a closed socket, a refused connection...).
  if (code === undefined) return true
  return OUTAGE_REPLIES.has(code)
}

/**
 * A reply that says the server cannot serve now (LOADING, BUSY...), as the
 * RedisUnavailableError callers get, the reply kept as its cause; any other error as it is.
 */
export function typedOutage(error: unknown): unknown {
  if (!(error instanceof Error) || isRedisSessionStoreError(error)) return error
  const code = replyCode(error.message)
  if (code === undefined || !OUTAGE_REPLIES.has(code)) return error
  return new RedisUnavailableError(
    `E${code}` as UnavailableCode,
    `Redis cannot serve now: ${error.message}`,
    {cause: error},
  )
}

/** The server's answer to a command on a key of another type (here: a tombstone). */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("WRONGTYPE")
}

/** The server does not have the script yet (after a restart, or a new cluster node). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT")
}

/** A cluster node's answer that the slot lives elsewhere (for good, or while migrating). */
export function isRedirection(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ""
  return message.startsWith("MOVED") || message.startsWith("ASK")
}

/** A server before Redis 7: it never will run a cross-slot script. */
export function cannotCompileCrossSlot(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ""
  return /shebang|compil|unexpected symbol/i.test(message)
}

/** The node cannot run a cross-slot script now: send one command per slot instead. */
export function isCrossSlotRefusal(error: unknown): boolean {
  const message = error instanceof Error ? error.message : ""
  return /^(MOVED|ASK|CROSSSLOT|TRYAGAIN)|non local key|shebang|compil|unexpected symbol/i.test(
    message,
  )
}
