import {type TombstonePolicy, tombstonePolicy} from "../store/tombstone-policy.js"
import type {Bounds, BoundsFamily, FailureObserver} from "./bounds.js"
import {Deadlines} from "./deadline.js"
import {GLIDE, glideClient, glideCluster, isGlide, isGlideCluster} from "./families/glide.js"
import {
  IOREDIS,
  IOREDIS_CLUSTER_NODE,
  ioredisClient,
  ioredisCluster,
  isIoredis,
  isIoredisCluster,
  missingIoredisCommands,
} from "./families/ioredis.js"
import {
  isNodeRedis,
  isNodeRedisCluster,
  nodeRedisClient,
  nodeRedisCluster,
  nodeRedisIsReady,
} from "./families/node-redis.js"
import {nodeRedisError, nodeRedisWithSignal} from "./families/node-redis-signal.js"
import {Gate} from "./gate.js"
import {withOperations} from "./operations.js"
import type {FamilyCommands, SessionClient} from "./types.js"
import {unbounded} from "./unbounded.js"

export type {ReadFinish, ScanBatch, SessionClient} from "./types.js"
export {TOMBSTONED, type Tombstoned} from "./types.js"

export const SUPPORTED_CLIENTS =
  "a node-redis client (createClient(), createCluster() or createSentinel() from redis 4, 5 or 6), an ioredis/iovalkey client (new Redis() or new Cluster()) or a Valkey GLIDE client (GlideClient or GlideClusterClient)"

/** True when `value` is a client RedisStore can use. */
export function isSupportedClient(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (isNodeRedis(value) ||
      isNodeRedisCluster(value) ||
      isIoredis(value) ||
      isIoredisCluster(value) ||
      isGlide(value))
  )
}

const NODE_REDIS: BoundsFamily = {
  isReady: nodeRedisIsReady,
  withSignal: nodeRedisWithSignal,
  mapError: nodeRedisError,
  // quit(), close(), destroy(), disconnect(); isOpen stays true while it reconnects.
  isClosed: (client) => (client as {isOpen?: unknown}).isOpen === false,
}

export interface LayerOptions {
  /** Every command settles within this many milliseconds; 0: no bound. */
  timeoutMs?: number
  /** Hears of every command that failed. */
  observe?: FailureObserver
  /** Tombstones on or off; default off (the store always passes its own). */
  tombstones?: TombstonePolicy
  /** Shut while the store knows Redis cannot serve: commands then fail at once. */
  gate?: Gate
}

const NO_TOMBSTONES = tombstonePolicy(0)

/**
 * Wraps a user's client in the adapter for its family, speaking the store's operations, or
 * says clearly what is accepted.
 */
export function toSessionClient(client: unknown, options: LayerOptions = {}): SessionClient {
  const {timeoutMs = 0, observe = () => {}, tombstones = NO_TOMBSTONES, gate = new Gate()} = options
  if (typeof client !== "object" || client === null) {
    throw new TypeError(`RedisStore needs ${SUPPORTED_CLIENTS}; got ${String(client)}`)
  }
  // The bound of the client itself (not of a cluster's nodes): its commands wait for its first
  // connection when it has not made one yet.
  let primary: Deadlines | undefined
  const bounds = (family: BoundsFamily, isPrimary = false): Bounds => {
    if (timeoutMs === 0) return unbounded(family, observe, gate)
    const deadlines = new Deadlines(timeoutMs, family, observe, gate)
    if (isPrimary) primary = deadlines
    return deadlines
  }
  const adapter = adapterFor(client, bounds)
  primary?.awaitFirstConnection({client, watch: (listener) => adapter.watch(listener)})
  return withOperations(adapter, tombstones)
}

function adapterFor(
  client: object,
  bounds: (family: BoundsFamily, isPrimary?: boolean) => Bounds,
): FamilyCommands {
  // GLIDE first: its clients have get/set/... too, under other signatures.
  if (isGlideCluster(client)) return glideCluster(client, bounds(GLIDE, true))
  if (isGlide(client)) return glideClient(client, bounds(GLIDE, true))
  if (isNodeRedisCluster(client)) return nodeRedisCluster(client, bounds(NODE_REDIS, true))
  if (isNodeRedis(client)) return nodeRedisClient(client, bounds(NODE_REDIS, true))
  if (isIoredisCluster(client)) {
    return ioredisCluster(client, bounds(IOREDIS, true), bounds(IOREDIS_CLUSTER_NODE))
  }
  if (isIoredis(client)) return ioredisClient(client, bounds(IOREDIS, true))
  const missing = missingIoredisCommands(client)
  const hint = missing?.length ? ` (this ioredis-like client has no ${missing.join(", ")})` : ""
  throw new TypeError(`RedisStore needs ${SUPPORTED_CLIENTS}${hint}`)
}
