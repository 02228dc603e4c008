// `timeout: 0`: commands without the time bound, with everything else the bounded path does:
// the family's errors made readable and observed, the gate, a closed client said so.

import {isWrongType, RedisUnavailableError, typedOutage} from "../errors.js"
import {
  type Bounds,
  type BoundsFamily,
  CLOSED_MESSAGE,
  type Command,
  type FailureObserver,
  type Finish,
  type Retry,
} from "./bounds.js"
import {Gate} from "./gate.js"
import {TOMBSTONED} from "./types.js"

/**
 * `timeout: 0`: no bound, only the family's errors made readable (and observed), the gate
 * kept, and a closed client said so.
 */
export function unbounded(
  family: BoundsFamily,
  observe: FailureObserver,
  gate: Gate = new Gate(),
): Bounds {
  const fail = (error: unknown): never => {
    const readable = typedOutage(family.mapError(error))
    observe(readable)
    throw readable
  }
  const refused = (client: object): Promise<never> | undefined => {
    if (gate.shut) return Promise.reject(gate.refusal())
    if (!family.isReady(client) && family.isClosed(client)) {
      return Promise.reject(new RedisUnavailableError("ENOTCONN", CLOSED_MESSAGE))
    }
    return undefined
  }
  const run: Bounds["run"] = (client, command) =>
    refused(client) ?? command(client, undefined).catch(fail)
  const runGuarded: Bounds["runGuarded"] = (client, command, finish, arg) =>
    refused(client) ??
    command(client, arg as never).then(
      (reply) => finish(reply, arg as never),
      (error: unknown) => {
        if (isWrongType(error)) return finish(TOMBSTONED, arg as never)
        return fail(error)
      },
    )
  return {
    release: () => {},
    isClosed: (client) => family.isClosed(client),
    run,
    runGuarded,
    // The command, and the one `retry` gives in its place on failure, as one command for
    // `run` or `runGuarded`: the error that stands is made readable (or TOMBSTONED) there.
    runWithRetry<C extends object, T, R>(
      client: C,
      command: Command<C, T>,
      retry: Retry<C, T>,
      finish?: Finish<T, R>,
    ): Promise<R> {
      const withRetry = (c: C) =>
        command(c, undefined).catch((error: unknown) => {
          const instead = retry(family.mapError(error))
          if (instead === undefined) throw error
          return instead(c, undefined)
        })
      if (finish === undefined) return run(client, withRetry) as Promise<unknown> as Promise<R>
      return runGuarded(client, withRetry, finish)
    },
    probe: (client, command) => command(client, undefined).catch(fail),
  }
}
