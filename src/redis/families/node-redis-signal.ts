// Giving node-redis commands an AbortSignal, so that a command still waiting in the
// client's queue when the store's time bound fires is withdrawn and never sent.
//
// Only commands given to a client that is not ready come here (see BoundsFamily.isReady).
// - node-redis 5 and 6 (client, cluster, sentinel, node client): `withCommandOptions` returns
//   a proxy whose every command carries the signal; a command already sent ignores it.
// - node-redis 4 gets no signal: it never removes its abort listener once a command is sent,
//   and aborting then throws inside that listener (an uncaught exception). Instead, nothing
//   is handed to a node-redis 4 client that is not ready (the store answers ENOTCONN at once),
//   so its offline queue never holds one of our commands to send after a reconnect.

import {RedisUnavailableError} from "../../errors.js"

export function nodeRedisWithSignal<C extends object>(
  client: C,
  signal: AbortSignal,
): C | undefined {
  const withOptions = (client as {withCommandOptions?: unknown}).withCommandOptions
  if (typeof withOptions !== "function") return undefined
  return withOptions.call(client, {abortSignal: signal}) as C
}

/**
 * node-redis's own errors for a client that is not connected, turned into the store's:
 * "The client is closed" (never connected, or closed) and "The client is offline"
 * (disconnected, with the offline queue turned off).
 */
export function nodeRedisError(error: unknown): unknown {
  // Their classes keep the name "Error": the message is what tells them apart.
  const message = error instanceof Error ? error.message : ""
  if (message === "The client is closed" || message === "The client is offline") {
    return new RedisUnavailableError(
      "ENOTCONN",
      `The Redis client is not connected (${(error as Error).message}): connect it with client.connect() before the store is used`,
    )
  }
  return error
}
