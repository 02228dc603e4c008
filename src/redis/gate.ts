// Commands fail at once, without being sent, while the store knows Redis cannot serve them:
// between its "disconnect" and "connect" (every call would otherwise wait the whole time
// bound, under any framework that does not listen to those events), or once the client was
// closed. The health probe's PING goes past it (Bounds.probe): that is how a return is seen.

import {RedisUnavailableError} from "../errors.js"

export class Gate {
  /** Why commands are refused now; undefined while they go. */
  #why: string | undefined

  /** True while commands are refused. Read on every command: a field, nothing more. */
  shut = false

  /** From now on, commands fail at once saying `why`. */
  close(why: string): void {
    this.#why = why
    this.shut = true
  }

  open(): void {
    this.#why = undefined
    this.shut = false
  }

  /** The error of a command refused now (a fresh one: callers may add to it). */
  refusal(): RedisUnavailableError {
    return new RedisUnavailableError("ENOTCONN", `${this.#why}; the command was not sent`)
  }
}
