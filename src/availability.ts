// Whether Redis can serve sessions now, told as the store events express-session listens to:
// "disconnect" makes it skip the store (requests go on without a session) until "connect".
//
// Down is learned three ways: the client says it is not ready (connecting, reconnecting,
// closed); a command found no answer within the time bound (a stalled or unreachable
// server: the client may still think it is connected); or a command failed otherwise and a
// PING then fails too. Up again is learned only from a PING that every endpoint answers,
// tried at once when the client reports a change and every `retryMs` meanwhile.

import type {SessionClient} from "./clients/index.js"
import {RedisUnavailableError} from "./deadline.js"

export type AvailabilityEvent = "connect" | "disconnect"

export class Availability {
  #up = true
  #probing = false
  #stopped = false
  #wake: (() => void) | undefined
  readonly #redis: SessionClient
  readonly #emit: (event: AvailabilityEvent, reason?: unknown) => void
  readonly #retryMs: number
  readonly #onClientEvent: () => void
  readonly #unwatch: () => void

  constructor(
    redis: SessionClient,
    emit: (event: AvailabilityEvent, reason?: unknown) => void,
    retryMs: number,
    quietUntil?: Promise<unknown>,
  ) {
    this.#redis = redis
    this.#emit = emit
    this.#retryMs = retryMs
    // Kept here: the client holds it only weakly (see watch()).
    this.#onClientEvent = () => this.check()
    this.#unwatch = redis.watch(this.#onClientEvent)
    // A client that is not connected yet: say so once the app had a chance to listen
    // (express-session subscribes right after the store is built), or, for a client the
    // store is connecting itself, once that attempt is over.
    if (quietUntil !== undefined) {
      void quietUntil.then(() => {
        if (!redis.isReady()) this.check()
      })
    } else if (!redis.isReady()) {
      process.nextTick(() => this.check())
    }
  }

  /** No more events and no more probes (the store was closed). */
  stop(): void {
    this.#stopped = true
    this.#unwatch()
    this.#wake?.()
  }

  /** Every failed command comes here; errors Redis itself answered are not outages. */
  commandFailed(error: unknown): void {
    if (error instanceof RedisUnavailableError) this.#set(false, error)
    else if (error instanceof TypeError) return
    this.check()
  }

  /** Looks again now: at once when the client says it is not ready, else by PING. */
  check(): void {
    if (this.#stopped) return
    if (this.#probing) {
      this.#wake?.()
      return
    }
    this.#probing = true
    void this.#probe().finally(() => {
      this.#probing = false
    })
  }

  async #probe(): Promise<void> {
    while (!this.#stopped) {
      let reason: unknown
      if (this.#redis.isReady()) {
        try {
          await this.#redis.ping()
        } catch (error) {
          reason = error
        }
      } else {
        reason = new RedisUnavailableError("ENOTCONN", "The Redis client is not ready")
      }
      this.#set(reason === undefined, reason)
      if (reason === undefined) return
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        setTimeout(resolve, this.#retryMs).unref()
      })
      this.#wake = undefined
    }
  }

  #set(up: boolean, reason?: unknown): void {
    if (up === this.#up || this.#stopped) return
    this.#up = up
    this.#emit(up ? "connect" : "disconnect", reason)
  }
}
