// The time bound on every Redis command (option `timeout`), at a cost per call of a few
// hundred nanoseconds rather than an AbortController and a timer each.
//
// Time is cut into slices of `sliceMs`. Every command sent during a slice shares that slice's
// one timer, which fires `timeoutMs` after the slice began: then every command of the slice
// that has not settled is rejected with a RedisUnavailableError (code ETIMEDOUT). Commands
// given to a client that is not ready (they wait in its queue) also carry the slice's
// AbortSignal, aborted then, so that the client withdraws them: never sent, they can no
// longer take effect later. A command sent
// late in its slice gets a little less than `timeoutMs`, never more.

import {setMaxListeners} from "node:events"

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

type Reject = (error: unknown) => void

/** Runs commands on a client of some family with the time bound, or without one. */
export interface Bounds {
  run<C extends object, T>(client: C, command: (client: C) => Promise<T>): Promise<T>
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
}

/** Hears about every command that failed, after its error was made readable. */
export type FailureObserver = (error: unknown) => void

class Slice {
  readonly controller = new AbortController()
  readonly pending = new Set<Reject>()
  /** New commands join the slice until it closes (after `sliceMs`), without reading the clock. */
  open = true

  constructor(
    timeoutMs: number,
    sliceMs: number,
    private readonly observe: FailureObserver,
  ) {
    // Every command of the slice listens to this one signal: no "possible leak" warning.
    setMaxListeners(0, this.controller.signal)
    // unref: a pending bound must not keep a process alive that has nothing else to do.
    setTimeout(() => {
      this.open = false
    }, sliceMs).unref()
    setTimeout(() => this.#expire(timeoutMs), timeoutMs).unref()
  }

  #expire(timeoutMs: number): void {
    this.open = false
    if (this.pending.size === 0) return
    const error = new RedisUnavailableError(
      "ETIMEDOUT",
      `Redis did not answer within ${timeoutMs} ms (timeout); the command was withdrawn if it had not been sent yet`,
    )
    for (const reject of this.pending) reject(error)
    this.pending.clear()
    this.controller.abort(error)
    this.observe(error)
  }
}

export class Deadlines implements Bounds {
  readonly #timeoutMs: number
  readonly #sliceMs: number
  readonly #family: BoundsFamily
  readonly #observe: FailureObserver
  #current: Slice | undefined

  constructor(timeoutMs: number, family: BoundsFamily, observe: FailureObserver) {
    this.#timeoutMs = timeoutMs
    this.#family = family
    this.#observe = observe
    // Slices of at most 50 ms: up to timeout/50 live timers, and at most 50 ms of slack.
    this.#sliceMs = Math.max(1, Math.min(50, Math.floor(timeoutMs / 4)))
  }

  run<C extends object, T>(client: C, command: (client: C) => Promise<T>): Promise<T> {
    let slice = this.#current
    if (slice === undefined || !slice.open) {
      slice = new Slice(this.#timeoutMs, this.#sliceMs, this.#observe)
      this.#current = slice
    }
    const mapError = this.#family.mapError
    const observe = this.#observe
    let target: C | undefined = client
    if (!this.#family.isReady(client)) {
      target = this.#family.withSignal(client, slice.controller.signal)
      if (target === undefined) {
        const error = new RedisUnavailableError(
          "ENOTCONN",
          "The Redis client is not ready (connecting or reconnecting); the command was not queued",
        )
        observe(error)
        return Promise.reject(error)
      }
    }
    const sent = command(target)
    return new Promise<T>((resolve, reject) => {
      slice.pending.add(reject)
      sent.then(
        (value) => {
          slice.pending.delete(reject)
          resolve(value)
        },
        (error: unknown) => {
          // Already rejected by the bound: the late error changes nothing.
          if (!slice.pending.delete(reject)) return
          const readable = mapError(error)
          observe(readable)
          reject(readable)
        },
      )
    })
  }
}

/** `timeout: 0`: no bound, only the family's errors made readable (and observed). */
export function unbounded(family: BoundsFamily, observe: FailureObserver): Bounds {
  const fail = (error: unknown) => {
    const readable = family.mapError(error)
    observe(readable)
    return Promise.reject(readable)
  }
  return {run: (client, command) => command(client).catch(fail)}
}
