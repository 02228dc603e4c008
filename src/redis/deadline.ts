// The time bound on every Redis command (option `timeout`), at a cost per call of one promise,
// rather than an AbortController and a timer each.
//
// Time is cut into slices of `sliceMs`. Every command sent during a slice shares that slice's
// one timer, which fires `timeoutMs` after the slice began: then every command of the slice
// that has not settled is rejected with a RedisUnavailableError (code ETIMEDOUT). A command
// sent late in its slice gets a little less than `timeoutMs`, never more. A slice keeps its
// commands' reject functions only while one of them is unsettled (rejecting a settled promise
// does nothing), so a healthy store holds one slice's worth at most.
//
// Commands given to a client that is not ready (they wait in its queue) also carry the
// slice's AbortSignal, aborted then, so that the client withdraws them: never sent, they can
// no longer take effect later.
//
// The first connection is different (first-connection.ts): a command for a client that is
// still making it waits in the store, and is sent once the client is ready, or rejected at
// the bound and never sent.

import {setMaxListeners} from "node:events"
import type {OperationTrace} from "../diagnostics/trace.js"
import {isWrongType, RedisUnavailableError, typedOutage} from "../errors.js"
import {FirstConnection, type Readiness, type Waiter} from "./first-connection.js"
import {Gate} from "./gate.js"
import {TOMBSTONED, type Tombstoned} from "./types.js"

export {RedisUnavailableError} from "../errors.js"

type Reject = (error: unknown) => void
/** A command on `client`; `arg` saves a closure per call on the hottest paths (`get`). */
type Command<C, T, A = undefined> = (client: C, arg: A) => Promise<T>
/**
 * For a command that failed: the command to send in its place (EVAL after EVALSHA met
 * NOSCRIPT), or undefined when the error stands.
 */
export type Retry<C, T> = (error: unknown) => Command<C, T> | undefined
/**
 * Turns a reply into what the caller wants, in the same step (no promise of its own); it is
 * given the command's `arg` too, so that it need not be a closure made per call.
 */
export type Finish<T, R, A = unknown> = (reply: T | Tombstoned, arg: A) => R

/** A `finish` for writes whose reply nobody reads: they resolve to undefined. */
export const DISCARD: Finish<unknown, undefined> = () => undefined

/** As DISCARD, for a traced write: a tombstone that refused it is noted as a logout. */
export const NOTE_REFUSAL: Finish<unknown, undefined, OperationTrace> = (reply, trace) => {
  if (reply === TOMBSTONED) trace.outcome = "logged-out"
  return undefined
}

/** As NOTE_REFUSAL, for a traced re-time, which also notes that there was nothing to re-time. */
export const NOTE_RETIME: Finish<unknown, undefined, OperationTrace> = (reply, trace) => {
  if (reply === TOMBSTONED) trace.outcome = "logged-out"
  // GETEX: null; PEXPIRE: 0 (node-redis, ioredis) or false (GLIDE).
  else if (reply === null || reply === 0 || reply === false) trace.outcome = "missing"
  return undefined
}

/** Runs commands on a client of some family with the time bound, or without one. */
export interface Bounds {
  run<C extends object, T>(client: C, command: Command<C, T>): Promise<T>
  /**
   * As `run`; when the command fails with an error `retry` has another command for, that one
   * is sent in its place, within the same bound. Nothing more than `run` costs when the first
   * command succeeds (no promise of its own for the error's path).
   */
  runWithRetry<C extends object, T>(
    client: C,
    command: Command<C, T>,
    retry: Retry<C, T>,
  ): Promise<T>
  /** As `run`, also while the gate is shut: the health probe's PING. */
  probe<C extends object, T>(client: C, command: Command<C, T>): Promise<T>
  /** The family's word: `client` was closed, not reconnecting. */
  isClosed(client: object): boolean
  /**
   * As `run`, but a WRONGTYPE reply (a tombstone at the key) is an answer, not an error: the
   * reply, or TOMBSTONED, goes through `finish`, whose result (or throw) settles the call.
   */
  runGuarded<C extends object, T, R, A = undefined>(
    client: C,
    command: Command<C, T, A>,
    finish: Finish<T, R, A>,
    arg?: A,
  ): Promise<R>
  /** The store was closed: commands still waiting for a first connection fail now. */
  release(): void
}

/** What a client family tells Deadlines: how to attach a signal, how to read its errors. */
export interface BoundsFamily {
  /**
   * False when a command given to `client` now would wait in its queue (not connected).
   * Only then does the command get the signal: attaching one costs the client an abort
   * listener per command (about 2 µs on node-redis 5/6), and a ready client writes the
   * command at once, where a signal could not withdraw it anyway.
   */
  isReady(client: object): boolean
  /**
   * `client` with `signal` attached, or undefined when this client cannot withdraw a queued
   * command safely: such a client is handed nothing while not ready (ENOTCONN at once).
   */
  withSignal<C extends object>(client: C, signal: AbortSignal): C | undefined
  mapError(error: unknown): unknown
  /**
   * True once `client` was closed (quit, close, disconnect; or it gave up reconnecting), as
   * opposed to reconnecting: a command for it fails at once, saying so.
   */
  isClosed(client: object): boolean
}

/** Why a command for a closed client was not sent. */
export const CLOSED_MESSAGE =
  "The Redis client is closed (by the app or by store.close(), or it stopped reconnecting, or it was never connected); the command was not sent"

/** Hears about every command that failed; the health probe decides which say an outage. */
export type FailureObserver = (error: unknown) => void

class Slice {
  #controller: AbortController | undefined
  /**
   * Reject functions of the commands sent in this slice; only the first `count` are current.
   * Once none is pending they are all settled, and the list starts over (entries past
   * `count` are stale: rejecting a settled promise would do nothing anyway).
   */
  readonly rejects: Reject[] = []
  count = 0
  pending = 0
  /** New commands join the slice until it closes (after `sliceMs`), without reading the clock. */
  open = true
  expired = false

  constructor(
    timeoutMs: number,
    sliceMs: number,
    private readonly observe: FailureObserver,
  ) {
    // unref: a pending bound must not keep a process alive that has nothing else to do.
    setTimeout(() => {
      this.open = false
    }, sliceMs).unref()
    setTimeout(() => this.#expire(timeoutMs), timeoutMs).unref()
  }

  /** The signal queued commands of this slice carry (made on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      // Every queued command of the slice listens to this one signal: no "leak" warning.
      setMaxListeners(0, this.#controller.signal)
    }
    return this.#controller.signal
  }

  add(reject: Reject): void {
    this.rejects[this.count++] = reject
  }

  settle(): void {
    if (--this.pending === 0) this.count = 0
  }

  #expire(timeoutMs: number): void {
    this.open = false
    this.expired = true
    if (this.pending === 0) return
    const error = new RedisUnavailableError(
      "ETIMEDOUT",
      `Redis did not answer within ${timeoutMs} ms (timeout); the command was withdrawn if it had not been sent yet`,
    )
    const current = this.rejects.slice(0, this.count)
    this.count = 0
    this.rejects.length = 0
    for (const reject of current) reject(error)
    this.#controller?.abort(error)
    this.observe(error)
  }
}

export class Deadlines implements Bounds {
  readonly #timeoutMs: number
  readonly #sliceMs: number
  readonly #family: BoundsFamily
  readonly #isReady: (client: object) => boolean
  readonly #observe: FailureObserver
  readonly #gate: Gate
  #firstConnection: FirstConnection | undefined
  #current: Slice | undefined

  constructor(
    timeoutMs: number,
    family: BoundsFamily,
    observe: FailureObserver,
    gate: Gate = new Gate(),
  ) {
    this.#timeoutMs = timeoutMs
    this.#family = family
    this.#isReady = family.isReady
    this.#observe = observe
    this.#gate = gate
    // Slices of at most 50 ms: up to timeout/50 live timers, and at most 50 ms of slack.
    this.#sliceMs = Math.max(1, Math.min(50, Math.floor(timeoutMs / 4)))
  }

  /**
   * Called once, right after the adapter is made: when its client is not ready yet, commands
   * for it wait for its first connection (see FirstConnection).
   */
  awaitFirstConnection(readiness: Readiness): void {
    if (!this.#isReady(readiness.client)) {
      this.#firstConnection = new FirstConnection(readiness, this.#isReady)
    }
  }

  run<C extends object, T>(client: C, command: Command<C, T>): Promise<T> {
    return this.runGuarded(client, command, undefined)
  }

  runWithRetry<C extends object, T>(
    client: C,
    command: Command<C, T>,
    retry: Retry<C, T>,
  ): Promise<T> {
    if (this.#gate.shut) return Promise.reject(this.#gate.refusal())
    return this.#dispatch(client, command, undefined, undefined, retry)
  }

  probe<C extends object, T>(client: C, command: Command<C, T>): Promise<T> {
    return this.#dispatch(client, command, undefined, undefined)
  }

  isClosed(client: object): boolean {
    return this.#family.isClosed(client)
  }

  /** Without `finish`, as `run`: not guarded, the reply as it is. */
  runGuarded<C extends object, T, R, A = undefined>(
    client: C,
    command: Command<C, T, A>,
    finish: Finish<T, R, A> | undefined,
    arg?: A,
  ): Promise<R> {
    // Not observed: refusing is what the known outage (or a closed client) means, not news.
    if (this.#gate.shut) return Promise.reject(this.#gate.refusal())
    return this.#dispatch(client, command, finish, arg)
  }

  #dispatch<C extends object, T, R, A>(
    client: C,
    command: Command<C, T, A>,
    finish: Finish<T, R, A> | undefined,
    arg: A | undefined,
    retry?: Retry<C, T>,
  ): Promise<R> {
    let slice = this.#current
    if (slice === undefined || !slice.open) {
      slice = new Slice(this.#timeoutMs, this.#sliceMs, this.#observe)
      this.#current = slice
    }
    if (this.#isReady(client)) {
      return this.#send(slice, command(client, arg as A), finish, arg, client, retry)
    }
    const first = this.#firstConnection
    if (first?.waiting) {
      const send = () => command(client, arg as A)
      return this.#afterFirstConnection(first, slice, send, finish, arg, client, retry)
    }
    if (this.#family.isClosed(client)) {
      return Promise.reject(new RedisUnavailableError("ENOTCONN", CLOSED_MESSAGE))
    }
    const target = this.#family.withSignal(client, slice.signal)
    if (target === undefined) {
      const error = new RedisUnavailableError(
        "ENOTCONN",
        "The Redis client is not ready (reconnecting, or closed); the command was not queued",
      )
      this.#observe(error)
      return Promise.reject(error)
    }
    return this.#send(slice, command(target, arg as A), finish, arg, client, retry)
  }

  /**
   * The caller's promise for a command just sent, settled by its outcome unless the bound
   * comes first. The hot path: one promise, three closures sharing one context, no clock.
   */
  #send<C extends object, T, R, A>(
    slice: Slice,
    sent: Promise<T>,
    finish: Finish<T, R, A> | undefined,
    arg: A | undefined,
    client: C,
    retry: Retry<C, T> | undefined,
  ): Promise<R> {
    slice.pending++
    return new Promise<R>((resolve, reject) => {
      slice.add(reject)
      sent.then(
        (value) => {
          slice.settle()
          if (finish === undefined) resolve(value as unknown as R)
          else settleWith(finish, value, arg as A, resolve, reject)
        },
        (error: unknown) => {
          // The retry reads the error in the family's words (GLIDE's NOSCRIPT is its own).
          const instead = retry?.(this.#family.mapError(error))
          if (instead === undefined) {
            this.#failed(slice, error, resolve, reject, finish, arg as A)
          } else if (!slice.expired) {
            // Sent in its place, under a bound of its own; this call's slot is done.
            slice.settle()
            // (A retry's command takes no argument: the one given is ignored.)
            this.#dispatch(client, instead as Command<C, T, A>, finish, arg).then(resolve, reject)
          }
        },
      )
    })
  }

  #failed<T, R, A>(
    slice: Slice,
    error: unknown,
    resolve: (value: R) => void,
    reject: Reject,
    finish: Finish<T, R, A> | undefined,
    arg: A,
  ): void {
    // Already rejected by the bound: the late error changes nothing.
    if (slice.expired) return
    slice.settle()
    if (finish !== undefined && isWrongType(error)) {
      settleWith(finish, TOMBSTONED, arg, resolve, reject)
      return
    }
    const readable = typedOutage(this.#family.mapError(error))
    this.#observe(readable)
    reject(readable)
  }

  /**
   * A command for a client still making its first connection: kept here until the client is
   * ready, then sent. At the bound it is rejected (ENOTCONN) and never sent.
   */
  #afterFirstConnection<C extends object, T, R, A>(
    first: FirstConnection,
    slice: Slice,
    send: () => Promise<T>,
    finish: Finish<T, R, A> | undefined,
    arg: A | undefined,
    client: C,
    retry: Retry<C, T> | undefined,
  ): Promise<R> {
    // Counted as pending while it waits, so that the slice's bound fires for it.
    slice.pending++
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        go: () => {
          slice.settle()
          this.#send(slice, send(), finish, arg, client, retry).then(resolve, reject)
        },
        fail: (error) => {
          if (!first.cancel(waiter)) return
          slice.settle()
          reject(error)
        },
      }
      first.wait(waiter)
      slice.add(() => {
        if (!first.cancel(waiter)) return
        const error = new RedisUnavailableError(
          "ENOTCONN",
          `The Redis client made no connection within ${this.#timeoutMs} ms (timeout); the command was not sent`,
        )
        this.#observe(error)
        reject(error)
      })
    })
  }

  /** The store was closed: commands still waiting for a first connection fail now. */
  release(): void {
    this.#firstConnection?.release(
      new RedisUnavailableError("ENOTCONN", "The store was closed; the command was not sent"),
    )
  }
}

function settleWith<T, R, A>(
  finish: Finish<T, R, A>,
  reply: T | Tombstoned,
  arg: A,
  resolve: (value: R) => void,
  reject: Reject,
): void {
  try {
    resolve(finish(reply, arg))
  } catch (error) {
    reject(error)
  }
}
