// The first connection is not an outage. A client the app has not finished connecting
// (connect() not awaited, ioredis connecting by itself, a store built at import time) is
// starting, not down: a command for it waits here, in the store, until the client is ready,
// and is sent then. It is never handed to the client's offline queue, so a command the time
// bound rejected meanwhile is never sent later. Once the client has been ready, it is an
// ordinary client: an outage after that is an outage.

/** The client whose first connection the store waits for, and how to hear it change. */
export interface Readiness {
  readonly client: object
  /** Calls `listener` on the client's connection events; returns the undo. */
  watch(listener: () => void): () => void
}

/** A command waiting for the first connection: sent by `go`, or failed. */
export interface Waiter {
  go(): void
  fail(error: unknown): void
}

/** How often a client without events is looked at while commands wait for it to connect. */
const POLL_MS = 10

export class FirstConnection {
  #done = false
  readonly #waiters = new Set<Waiter>()
  #unwatch: (() => void) | undefined
  #poll: ReturnType<typeof setInterval> | undefined
  readonly #readiness: Readiness
  readonly #isReady: (client: object) => boolean
  /** Kept here: the client's event hub holds it only weakly. */
  readonly #check = () => {
    if (this.#isReady(this.#readiness.client)) this.#finish()
  }

  constructor(readiness: Readiness, isReady: (client: object) => boolean) {
    this.#readiness = readiness
    this.#isReady = isReady
  }

  /** True while the client has never been ready. */
  get waiting(): boolean {
    if (!this.#done) this.#check()
    return !this.#done
  }

  /** Sends the waiter's command once the client is ready. */
  wait(waiter: Waiter): void {
    this.#waiters.add(waiter)
    if (this.#poll !== undefined) return
    this.#unwatch = this.#readiness.watch(this.#check)
    // Some clients say nothing when they are ready (node-redis 4 and 5 clusters): look often.
    this.#poll = setInterval(this.#check, POLL_MS)
    this.#poll.unref()
  }

  /** Takes back a waiter not sent yet; false when it was sent (or failed) already. */
  cancel(waiter: Waiter): boolean {
    if (!this.#waiters.delete(waiter)) return false
    if (this.#waiters.size === 0) this.#stopWatching()
    return true
  }

  /** Fails every waiter now (the store was closed). */
  release(error: unknown): void {
    for (const waiter of [...this.#waiters]) waiter.fail(error)
  }

  #stopWatching(): void {
    if (this.#poll !== undefined) clearInterval(this.#poll)
    this.#poll = undefined
    this.#unwatch?.()
    this.#unwatch = undefined
  }

  #finish(): void {
    this.#done = true
    this.#stopWatching()
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const waiter of waiters) waiter.go()
  }
}
