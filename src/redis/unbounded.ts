// `timeout: 0`: commands without the time bound, with everything else the bounded path does:
// the family's errors made readable and observed, the gate, a closed client said so.

import {isWrongType, RedisUnavailableError, typedOutage} from "../errors.js"
import {type Bounds, type BoundsFamily, CLOSED_MESSAGE, type FailureObserver} from "./deadline.js"
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
    runWithRetry: (client, command, retry) =>
      refused(client) ??
      command(client, undefined).catch((error: unknown) => {
        const instead = retry(family.mapError(error))
        if (instead === undefined) return fail(error)
        return instead(client, undefined).catch(fail)
      }),
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
