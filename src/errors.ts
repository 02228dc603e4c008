// What an error from Redis or a client means to the store, decided in one place.
//
// The rule for health: only an error that says a server cannot serve (a lost or refused
// connection, the time bound, CLUSTERDOWN, LOADING...) is an outage and reaches the probe.
// A reply Redis gave about the command itself (WRONGTYPE for a tombstone, NOSCRIPT, MOVED,
// ASK, a script's own refusal) is a normal answer: the server is there and serving.

/** Why a store method gave up on Redis; `code` says what happened. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError"
  constructor(
    readonly code: "ETIMEDOUT" | "ENOTCONN",
    message: string,
  ) {
    super(message)
  }
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
  if (error instanceof RedisUnavailableError) return true
  if (error instanceof TypeError) return false
  const message = error instanceof Error ? error.message : String(error)
  const code = replyCode(message)
  // Not a reply from Redis: the client's own (a closed socket, a refused connection...).
  if (code === undefined) return true
  return OUTAGE_REPLIES.has(code)
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
