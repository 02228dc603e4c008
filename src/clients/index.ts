import {isNodeRedis, isNodeRedisCluster, nodeRedisClient, nodeRedisCluster} from "./node-redis.js"
import type {SessionClient} from "./types.js"

export type {ScanBatch, SessionClient} from "./types.js"

export const SUPPORTED_CLIENTS =
  "a node-redis client: createClient(), createCluster() or createSentinel() from redis 4, 5 or 6"

/** True when `value` is a client RedisStore can use. */
export function isSupportedClient(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && (isNodeRedis(value) || isNodeRedisCluster(value))
  )
}

/** Wraps a user's client in the adapter for its family, or says clearly what is accepted. */
export function toSessionClient(client: unknown): SessionClient {
  if (typeof client !== "object" || client === null) {
    throw new TypeError(`RedisStore needs ${SUPPORTED_CLIENTS}; got ${String(client)}`)
  }
  if (isNodeRedisCluster(client)) return nodeRedisCluster(client)
  if (isNodeRedis(client)) return nodeRedisClient(client)
  const hint =
    typeof (client as {scanStream?: unknown}).scanStream === "function"
      ? " (ioredis and iovalkey clients are not supported yet)"
      : ""
  throw new TypeError(`RedisStore needs ${SUPPORTED_CLIENTS}${hint}`)
}
