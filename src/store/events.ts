// The store's events and their payloads, for TypeScript users' listeners.

import type {CorruptSessionError} from "../errors.js"
import type {ServerReport} from "../redis/redundant.js"

/**
 * The events a store emits, each with what its listeners receive. `connect` / `disconnect`
 * are express-session's own (it goes on without sessions while disconnected); the `server*`
 * events come only in redundant mode (option `clients`).
 */
export interface RedisStoreEvents {
  /** Redis answers again after a `disconnect`. */
  connect: []
  /** Redis cannot serve (outage, time bound, failed first connection); `reason` says why. */
  disconnect: [reason: unknown]
  /** A stored value could not be read as a session; it was treated as missing. */
  corrupt: [error: CorruptSessionError]
  /** Redundant mode: a server stopped answering. */
  serverDown: [report: ServerReport]
  /** Redundant mode: a server answers again. */
  serverUp: [report: ServerReport]
  /** Redundant mode: one command failed on one server (the others served it). */
  serverError: [report: ServerReport]
}

export type StoreListener<E extends keyof RedisStoreEvents> = (...args: RedisStoreEvents[E]) => void
