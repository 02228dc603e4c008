// Clients of every kind the store supports, built the way users build them: node-redis 4, 5
// and 6 (installed side by side as the npm aliases redis4, redis5 and redis).

import * as redis6 from "redis"
import * as redis4 from "redis4"
import * as redis5 from "redis5"
import type {RedisClientLike} from "../../src/index.js"
import type {RedisCluster, RedisSentinelSetup, RedisServer} from "./redis-servers.js"

export type Topology = "standalone" | "cluster" | "sentinel"

export interface TestClient {
  readonly client: RedisClientLike
  /** Errors the client emitted (connection trouble shows up here). */
  readonly errors: Error[]
  close(): Promise<void>
}

export interface ClientKind {
  /** e.g. "node-redis 5 cluster" */
  readonly name: string
  readonly version: 4 | 5 | 6
  readonly topology: Topology
  /** Whether this client can add a key prefix of its own (node-redis 6.1+). */
  readonly hasKeyPrefix: boolean
}

export interface Servers {
  standalone?: RedisServer
  cluster?: RedisCluster
  sentinel?: RedisSentinelSetup
}

export interface ConnectOptions {
  /** node-redis 6.1+ client-side key prefix. */
  keyPrefix?: string
}

export const CLIENT_KINDS: readonly ClientKind[] = [
  {name: "node-redis 4 client", version: 4, topology: "standalone", hasKeyPrefix: false},
  {name: "node-redis 5 client", version: 5, topology: "standalone", hasKeyPrefix: false},
  {name: "node-redis 6 client", version: 6, topology: "standalone", hasKeyPrefix: true},
  {name: "node-redis 4 cluster", version: 4, topology: "cluster", hasKeyPrefix: false},
  {name: "node-redis 5 cluster", version: 5, topology: "cluster", hasKeyPrefix: false},
  {name: "node-redis 6 cluster", version: 6, topology: "cluster", hasKeyPrefix: true},
  {name: "node-redis 5 sentinel", version: 5, topology: "sentinel", hasKeyPrefix: false},
  {name: "node-redis 6 sentinel", version: 6, topology: "sentinel", hasKeyPrefix: true},
]

export function kindsFor(topology: Topology): ClientKind[] {
  return CLIENT_KINDS.filter((kind) => kind.topology === topology)
}

interface Closable {
  connect(): Promise<unknown>
  on(event: "error", listener: (error: Error) => void): unknown
}

/** Builds and connects a client of `kind` against the servers started for the test file. */
export async function connectClient(
  kind: ClientKind,
  servers: Servers,
  options: ConnectOptions = {},
): Promise<TestClient> {
  if (options.keyPrefix !== undefined && !kind.hasKeyPrefix) {
    throw new Error(`${kind.name} has no keyPrefix option`)
  }
  const client = createUnconnected(kind, servers, options)
  const errors: Error[] = []
  const closable = client as unknown as Closable
  closable.on("error", (error) => errors.push(error))
  await closable.connect()
  return {
    client,
    errors,
    close: () => closeClient(client),
  }
}

/** The client object before connect(): enough for construction tests. */
export function createUnconnected(
  kind: ClientKind,
  servers: Servers,
  options: ConnectOptions = {},
): RedisClientLike {
  const keyPrefix = options.keyPrefix === undefined ? {} : {keyPrefix: options.keyPrefix}
  switch (kind.topology) {
    case "standalone": {
      const url = need(servers.standalone, "standalone").url
      if (kind.version === 4) return redis4.createClient({url})
      if (kind.version === 5) return redis5.createClient({url})
      return redis6.createClient({url, ...keyPrefix})
    }
    case "cluster": {
      const rootNodes = need(servers.cluster, "cluster").rootNodes
      if (kind.version === 4) return redis4.createCluster({rootNodes})
      if (kind.version === 5) return redis5.createCluster({rootNodes})
      return redis6.createCluster({rootNodes, ...keyPrefix})
    }
    case "sentinel": {
      const setup = need(servers.sentinel, "sentinel")
      const sentinelRootNodes = [{host: setup.sentinel.host, port: setup.sentinel.port}]
      if (kind.version === 5)
        return redis5.createSentinel({name: setup.masterName, sentinelRootNodes})
      if (kind.version === 6) {
        return redis6.createSentinel({name: setup.masterName, sentinelRootNodes, ...keyPrefix})
      }
      throw new Error("node-redis 4 has no sentinel client")
    }
  }
}

/** Closes a client of any kind we build (node-redis 5/6 destroy(), 4 disconnect()). */
export async function closeClient(client: RedisClientLike): Promise<void> {
  const closable = client as {destroy?: () => unknown; disconnect?: () => Promise<unknown>}
  // node-redis 5/6 have destroy(); 4 has disconnect().
  if (typeof closable.destroy === "function") closable.destroy()
  else await closable.disconnect?.()
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`This test file started no ${what} server`)
  return value
}
