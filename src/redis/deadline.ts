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

import {isWrongType, RedisUnavailableError, typedOutage} from "../errors.js"
import type {
  Bounds,
  BoundsFamily,
  Command,
  FailureObserver,
  Finish,
  Reject,
  Retry,
} from "./bounds.js"
import {CLOSED_MESSAGE} from "./bounds.js"
import {FirstConnection, type Readiness, type Waiter} from "./first-connection.js"
import {Gate} from "./gate.js"
import {Slice} from "./slice.js"
import {TOMBSTONED, type Tombstoned} from "./types.js"

export {RedisUnavailableError} from "../errors.js"

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

  runWithRetry<C extends object, T, R = T>(
    client: C,
    command: Command<C, T>,
    retry: Retry<C, T>,
    finish?: Finish<T, R>,
  ): Promise<R> {
    if (this.#gate.shut) return Promise.reject(this.#gate.refusal())
    return this.#dispatch(client, command, finish, undefined, retry)
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
