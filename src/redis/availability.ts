// Whether Redis can serve sessions now, told as the store events express-session listens to:
// "disconnect" makes it skip the store (requests go on without a session) until "connect".
//
// Down is learned three ways: the client says it is not ready (reconnecting, closed); a
// command found no answer within the time bound (a stalled or unreachable server: the client
// may still think it is connected); or a command failed in a way that says the server cannot
// serve (a lost connection, CLUSTERDOWN, LOADING...) and a PING then fails too. Normal replies
// (WRONGTYPE for a tombstone, NOSCRIPT, MOVED) never wake the probe. Up again is learned only
// from a PING that every endpoint answers, tried at once when the client reports a change and
// every `retryMs` meanwhile.
//
// A client making its first connection is starting, not down: nothing is announced until it
// is ready, or until `firstConnectionMs` passed without that (then it is down).
//
// While down, the gate is shut: every call fails at once (ENOTCONN) instead of waiting for
// the time bound, whatever the framework; only the probe's PING goes through. A client the
// app closed (quit, close) is not an outage: nothing is announced, and its commands fail at
// once saying it was closed.

import {RedisUnavailableError, signalsOutage} from "../errors.js"
import type {Gate} from "./gate.js"
import type {SessionClient} from "./index.js"

export type AvailabilityEvent = "connect" | "disconnect"

export class Availability {
  #up = true
  /** The client has not been ready yet, and its first connection is within the bound. */
  #starting = false
  #probing = false
  #stopped = false
  /** The client has been ready once: from then on, not open means closed on purpose. */
  #everReady = false
  #wake: (() => void) | undefined
  readonly #redis: SessionClient
  readonly #gate: Gate
  readonly #emit: (event: AvailabilityEvent, reason?: unknown) => void
  readonly #retryMs: number
  readonly #onClientEvent: () => void
  readonly #unwatch: () => void

  constructor(
    redis: SessionClient,
    emit: (event: AvailabilityEvent, reason?: unknown) => void,
    retryMs: number,
    firstConnectionMs: number,
    gate: Gate,
  ) {
    this.#redis = redis
    this.#gate = gate
    this.#emit = emit
    this.#retryMs = retryMs
    // Kept here: the client holds it only weakly (see watch()).
    this.#onClientEvent = () => this.check()
    this.#unwatch = redis.watch(this.#onClientEvent)
    this.#everReady = redis.isReady()
    if (!this.#everReady) {
      this.#starting = true
      setTimeout(() => {
        if (!this.#starting) return
        this.#starting = false
        this.check()
      }, firstConnectionMs).unref()
    }
  }

  /** No more events and no more probes (the store was closed). */
  stop(): void {
    this.#stopped = true
    this.#unwatch()
    this.#wake?.()
    // Nothing watches any more: calls go to the client again (an app's client stays usable).
    this.#gate.open()
  }

  /** Failed commands come here; only those that say a server cannot serve count. */
  commandFailed(error: unknown): void {
    if (!signalsOutage(error)) return
    // The store's own verdicts (no answer within the bound, no connection) are an outage at
    // once; a server's "cannot serve" reply (LOADING, CLUSTERDOWN...) is one when the probe's
    // PING fails too (it does while loading or busy), so that no event pair flaps per call.
    // A client that is not ready is looked at by the probe too: it may be closing on purpose.
    if (
      error instanceof RedisUnavailableError &&
      (error.code === "ETIMEDOUT" || (error.code === "ENOTCONN" && this.#starting))
    ) {
      // A command that waited for the first connection and gave up: that is an outage.
      this.#starting = false
      this.#set(false, error)
    }
    this.check()
  }

  /** Looks again now: at once when the client says it is not ready, else by PING. */
  check(): void {
    if (this.#stopped) return
    if (this.#redis.isReady()) this.#everReady = true
    if (this.#starting) {
      // Still making its first connection: not an outage while within the bound.
      if (this.#redis.isReady()) this.#starting = false
      return
    }
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
      } else if (this.#everReady && (await this.#closedOnPurpose())) {
        // Closed by the app: no outage to announce. Its commands say it was closed; a client
        // opened again reports it, and the probe looks then.
        return
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

  /**
   * A client being closed passes through "close" (ioredis) before "end": its state is read
   * again a turn later, once the transition is over.
   */
  async #closedOnPurpose(): Promise<boolean> {
    if (this.#redis.isClosed()) return true
    await new Promise((resolve) => setImmediate(resolve))
    return !this.#redis.isReady() && this.#redis.isClosed()
  }

  #set(up: boolean, reason?: unknown): void {
    if (up === this.#up || this.#stopped) return
    this.#up = up
    if (up) this.#gate.open()
    else this.#gate.close(`Redis cannot serve now (${describe(reason)}); the store said disconnect`)
    this.#emit(up ? "connect" : "disconnect", reason)
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason)
}
