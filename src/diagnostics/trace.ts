// One traced store operation: the context its TracingChannel publishes, filled in on the way
// by the layers the call goes through (they are handed it only when someone listens), and
// the outcome an error stands for.

import {createHmac, randomBytes} from "node:crypto"
import {isRedisSessionStoreError} from "../errors.js"
import {isTraced, operationChannel, type StoreOperation} from "./channels.js"

/**
 * How an operation ended. `get`: hit, miss, logged-out (a tombstone: the session was
 * destroyed), unreadable, expired (past `absoluteTimeout`). `set`: written, merged (another
 * request's changes were merged in), deleted (its life was over), logged-out (refused: the
 * session was destroyed or revoked), touched or renewed (a save that changed nothing, as for
 * touch). `touch`: touched, renewed (the read already gave the session this life: nothing
 * sent), skipped (`touchAfter`), missing, deleted, logged-out. `destroy`: destroyed. Bulk and owner operations: done. A call that
 * rejects: too-large (`maxBytes`), conflict (`ConcurrentWriteError`), refused
 * (`TooManySessionsError`), timed-out, unavailable, invalid (a bad argument), failed.
 */
export type StoreOutcome =
  | "hit"
  | "miss"
  | "logged-out"
  | "unreadable"
  | "expired"
  | "written"
  | "merged"
  | "deleted"
  | "touched"
  | "renewed"
  | "skipped"
  | "missing"
  | "destroyed"
  | "done"
  | "too-large"
  | "conflict"
  | "refused"
  | "timed-out"
  | "unavailable"
  | "invalid"
  | "failed"

/**
 * What every event of an operation's TracingChannel carries (the same object from start to
 * asyncEnd; the fields after `prefix` are filled in by the time of asyncEnd or error).
 * Never in it: a session id as it is, or any session data (`result` stays undefined).
 */
export interface StoreOperationContext {
  readonly operation: StoreOperation
  /** The store's key prefix: tells stores apart. */
  readonly prefix: string
  /**
   * For get, set, touch and destroy: a keyed hash of the session id (HMAC-SHA256 under a
   * key drawn at random when the process starts, 16 base64url characters), to follow one
   * session's calls within a process. It cannot be turned back into the id, nor matched
   * against an id without that key; it differs from process to process.
   */
  readonly sessionHash: string | undefined
  outcome: StoreOutcome | undefined
  /** The size of the stored value read or written, in bytes (UTF-8). */
  bytes: number | undefined
  /** Saves after the first that a merge needed (concurrentWrites "merge"). */
  retries: number
  /** Redundant mode: the servers whose command failed during this call (others served it). */
  failedServers: string[] | undefined
  /** Bulk and owner operations: how many sessions were counted, listed, or ended. */
  count: number | undefined
  /** Set by the TracingChannel when the call rejects: the error the caller receives. */
  error?: unknown
  /** Set by the TracingChannel; always undefined, so that no session data is published. */
  result?: unknown
}

/**
 * What the layers a traced call goes through note on their way. Kept apart from the
 * published context: a reply that comes after the call settled (it timed out, then Redis
 * answered) may still be noted here, but never changes what subscribers were shown.
 */
export class OperationTrace {
  outcome: StoreOutcome | undefined = undefined
  bytes: number | undefined = undefined
  retries = 0
  failedServers: string[] | undefined = undefined
  count: number | undefined = undefined

  /** Redundant mode: one server failed its part of this call. */
  serverFailed(server: string): void {
    if (this.failedServers === undefined) this.failedServers = [server]
    else if (!this.failedServers.includes(server)) this.failedServers.push(server)
  }
}

/** The context subscribers see: filled in from the trace once, when the call settles. */
class OperationContext implements StoreOperationContext {
  outcome: StoreOutcome | undefined = undefined
  bytes: number | undefined = undefined
  retries = 0
  failedServers: string[] | undefined = undefined
  count: number | undefined = undefined
  // Private: no subscriber can reach the id through the context.
  readonly #sid: unknown
  #hash: string | undefined = undefined

  constructor(
    readonly operation: StoreOperation,
    readonly prefix: string,
    sid: unknown,
  ) {
    this.#sid = sid
  }

  /** Computed when first read: most subscribers never read it, and an HMAC costs. */
  get sessionHash(): string | undefined {
    if (this.#hash === undefined && typeof this.#sid === "string" && this.#sid.length > 0) {
      this.#hash = sessionHash(this.#sid)
    }
    return this.#hash
  }

  settle(trace: OperationTrace, outcome: StoreOutcome): void {
    this.outcome = outcome
    this.bytes = trace.bytes
    this.retries = trace.retries
    this.failedServers = trace.failedServers?.slice()
    this.count = trace.count
  }
}

let hashKey: Buffer | undefined

/** The keyed hash of a session id that payloads carry instead of the id. */
export function sessionHash(sid: string): string {
  hashKey ??= randomBytes(32)
  return createHmac("sha256", hashKey).update(sid).digest("base64url").slice(0, 16)
}

/** Byte size of a stored value, for `bytes`. */
export function byteSize(value: string): number {
  return Buffer.byteLength(value)
}

/**
 * Runs `run` as one traced operation (the caller knows someone listens): start and end
 * around the call, asyncStart and asyncEnd (with error before them) when it settles. `done`
 * is the outcome of a call that resolved without a layer naming another. The caller gets
 * run's value; the context's `result` does not.
 */
export function traced<T>(
  operation: StoreOperation,
  prefix: string,
  sid: unknown,
  run: (trace: OperationTrace) => Promise<T>,
  done: StoreOutcome,
): Promise<T> {
  const trace = new OperationTrace()
  const context = new OperationContext(operation, prefix, sid)
  let value: T
  const settle = (): Promise<void> => {
    let running: Promise<T>
    try {
      running = run(trace)
    } catch (error) {
      running = Promise.reject(error)
    }
    return running.then(
      (result) => {
        value = result
        context.settle(trace, trace.outcome ?? done)
      },
      (error: unknown) => {
        context.settle(trace, outcomeOfError(error))
        throw error
      },
    )
  }
  return operationChannel(operation)
    .tracePromise(settle, context)
    .then(() => value)
}

/**
 * A bulk or owner operation: traced when someone listens, with `count` taken from its
 * value (or set by `run` itself); otherwise just run.
 */
export function observed<T>(
  operation: StoreOperation,
  prefix: string,
  run: (trace?: OperationTrace) => Promise<T>,
  count?: (value: T) => number,
): Promise<T> {
  if (!isTraced(operationChannel(operation))) return run()
  const counted = async (trace: OperationTrace) => {
    const value = await run(trace)
    if (count !== undefined) trace.count = count(value)
    return value
  }
  return traced(operation, prefix, undefined, counted, "done")
}

/** The outcome a rejected call stands for. */
export function outcomeOfError(error: unknown): StoreOutcome {
  if (isRedisSessionStoreError(error)) {
    switch (error.code) {
      case "ETIMEDOUT":
        return "timed-out"
      case "ENOTCONN":
        return "unavailable"
      case "ETOOLARGE":
        return "too-large"
      case "ECONFLICT":
        return "conflict"
      case "ETOOMANYSESSIONS":
        return "refused"
    }
  }
  if (error instanceof TypeError || error instanceof RangeError) return "invalid"
  return "failed"
}
