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
  return {
    release: () => {},
    isClosed: (client) => family.isClosed(client),
    run: (client, command) => refused(client) ?? command(client, undefined).catch(fail),
    runWithRetry<C extends object, T, R>(
      client: C,
      command: Command<C, T>,
      retry: Retry<C, T>,
      finish?: Finish<T, R>,
    ): Promise<R> {
      const refusal = refused(client)
      if (refusal !== undefined) return refusal
      // As the bounded path: the reply through `finish`, and WRONGTYPE as TOMBSTONED to it.
      const answer = (reply: T) =>
        finish === undefined ? (reply as unknown as R) : finish(reply, undefined)
      const failure = (error: unknown) => {
        if (finish !== undefined && isWrongType(error)) return finish(TOMBSTONED, undefined)
        return fail(error)
      }
      return command(client, undefined).then(answer, (error: unknown) => {
        const instead = retry(family.mapError(error))
        if (instead === undefined) return failure(error)
        return instead(client, undefined).then(answer, failure)
      })
    },
    probe: (client, command) => command(client, undefined).catch(fail),
    runGuarded: (client, command, finish, arg) =>
      refused(client) ??
      command(client, arg as never).then(
        (reply) => finish(reply, arg as never),
        (error: unknown) => {
          if (isWrongType(error)) return finish(TOMBSTONED, arg as never)
          return fail(error)
        },
      ),
  }
}
