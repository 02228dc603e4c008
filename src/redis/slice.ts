// One slice of time of the bound (deadline.ts): every command sent during it shares its one
// timer, which rejects those still unsettled `timeoutMs` after the slice began.

import {setMaxListeners} from "node:events"
import {RedisUnavailableError} from "../errors.js"
import type {FailureObserver, Reject} from "./bounds.js"

export class Slice {
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
