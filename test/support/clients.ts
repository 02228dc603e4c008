// Clients of every kind the store supports, built the way users build them: node-redis 4, 5
// and 6 (installed side by side as the npm aliases redis4, redis5 and redis), ioredis 5 and 6
// (ioredis5 and ioredis), iovalkey, and Valkey GLIDE.

import {GlideClient, GlideClusterClient, Logger} from "@valkey/valkey-glide"
import {Redis as Ioredis6, Cluster as Ioredis6Cluster} from "ioredis"
import {Redis as Ioredis5, Cluster as Ioredis5Cluster} from "ioredis5"
import {Redis as Iovalkey, Cluster as IovalkeyCluster} from "iovalkey"
import * as redis6 from "redis"
import * as redis4 from "redis4"
import * as redis5 from "redis5"
import type {RedisClientLike} from "../../src/index.js"
import {RawRedis} from "./raw-redis.js"
import {
  type RedisCluster,
  type RedisSentinelSetup,
  type RedisServer,
  startCluster,
  startRedisServer,
} from "./redis-servers.js"

export type Topology = "standalone" | "cluster" | "sentinel"

export interface TestClient {
  readonly client: RedisClientLike
  /** Errors the client emitted (connection trouble shows up here). */
  readonly errors: Error[]
  close(): Promise<void>
}

export type Family = "node-redis" | "ioredis" | "iovalkey" | "glide"

// GLIDE logs a warning for every error reply (a logged-out cookie's WRONGTYPE included).
Logger.setLoggerConfig("error")

export interface ClientKind {
  /** e.g. "node-redis 5 cluster" */
  readonly name: string
  readonly family: Family
  /** The major version (iovalkey: 0). */
  readonly version: number
  readonly topology: Topology
  /** Whether this client can add a key prefix of its own (node-redis 6.1+, ioredis). */
  readonly hasKeyPrefix: boolean
  /**
   * Whether the store hands this client commands while it is not ready, to wait in its
   * queue until the time bound withdraws them (node-redis 5/6). The others are handed
   * nothing then: the store answers ENOTCONN at once.
   */
  readonly queuesWhileOffline: boolean
  /** Options this kind always adds to the client's own (ioredis `enableAutoPipelining`). */
  readonly clientOptions?: Record<string, unknown>
}

export interface Servers {
  standalone?: RedisServer
  cluster?: RedisCluster
  sentinel?: RedisSentinelSetup
}

export interface ConnectOptions {
  /** node-redis 6.1+ and ioredis client-side key prefix. */
  keyPrefix?: string
  /** More options for an ioredis or iovalkey client (commandTimeout, enableOfflineQueue...). */
  ioredis?: Record<string, unknown>
}

function nodeRedis(version: 4 | 5 | 6, topology: Topology): ClientKind {
  const name = `node-redis ${version} ${topology === "standalone" ? "client" : topology}`
  const modern = version > 4
  return {
    name,
    family: "node-redis",
    version,
    topology,
    hasKeyPrefix: version === 6,
    queuesWhileOffline: modern,
  }
}

function ioredisLike(
  family: "ioredis" | "iovalkey",
  version: number,
  topology: Topology,
  clientOptions?: Record<string, unknown>,
): ClientKind {
  const label = family === "ioredis" ? `ioredis ${version}` : "iovalkey"
  const options = Object.keys(clientOptions ?? {}).join(", ")
  const name = `${label} ${topology === "standalone" ? "client" : topology}${options ? `, ${options}` : ""}`
  return {
    name,
    family,
    version,
    topology,
    hasKeyPrefix: true,
    queuesWhileOffline: false,
    ...(clientOptions ? {clientOptions} : {}),
  }
}

/**
 * Valkey GLIDE 2: no sentinel client, no key prefix. While it reconnects it holds commands
 * itself (up to its requestTimeout), and drops them then: it "queues while offline".
 */
function glide(topology: "standalone" | "cluster"): ClientKind {
  const name = `GLIDE ${topology === "standalone" ? "client" : "cluster"}`
  return {
    name,
    family: "glide",
    version: 2,
    topology,
    hasKeyPrefix: false,
    queuesWhileOffline: true,
  }
}

export const CLIENT_KINDS: readonly ClientKind[] = [
  nodeRedis(4, "standalone"),
  nodeRedis(5, "standalone"),
  nodeRedis(6, "standalone"),
  ioredisLike("ioredis", 5, "standalone"),
  ioredisLike("ioredis", 6, "standalone"),
  ioredisLike("iovalkey", 0, "standalone"),
  // Commands of one tick sent as one pipeline: scripts, NOSCRIPT and errors inside it.
  ioredisLike("ioredis", 6, "standalone", {enableAutoPipelining: true}),
  nodeRedis(4, "cluster"),
  nodeRedis(5, "cluster"),
  nodeRedis(6, "cluster"),
  ioredisLike("ioredis", 5, "cluster"),
  ioredisLike("ioredis", 6, "cluster"),
  ioredisLike("iovalkey", 0, "cluster"),
  glide("standalone"),
  glide("cluster"),
  nodeRedis(5, "sentinel"),
  nodeRedis(6, "sentinel"),
  ioredisLike("ioredis", 5, "sentinel"),
  ioredisLike("ioredis", 6, "sentinel"),
  ioredisLike("iovalkey", 0, "sentinel"),
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
  if (kind.family === "glide") return connectGlide(kind, servers)
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

/**
 * A GLIDE client exists only once connected (createClient resolves then), or with
 * `lazyConnect`, once made: it connects on its first command.
 */
async function createGlide(
  kind: ClientKind,
  servers: Servers,
  lazyConnect = false,
): Promise<RedisClientLike> {
  const client =
    kind.topology === "cluster"
      ? await GlideClusterClient.createClient({
          addresses: need(servers.cluster, "cluster").rootNodes.map(hostPort),
          lazyConnect,
        })
      : await GlideClient.createClient({
          addresses: [hostPort(need(servers.standalone, "standalone"))],
          lazyConnect,
        })
  return client as unknown as RedisClientLike
}

async function connectGlide(kind: ClientKind, servers: Servers): Promise<TestClient> {
  const client = await createGlide(kind, servers)
  // GLIDE emits no events: connection trouble reaches the store through failed commands.
  return {client, errors: [], close: () => closeClient(client)}
}

/**
 * A client that connects on its first command (ioredis and iovalkey `lazyConnect`, GLIDE
 * `lazyConnect`): the store must not connect it, only send it that command.
 */
export function createLazy(kind: ClientKind, servers: Servers): Promise<RedisClientLike> {
  if (kind.family === "glide") return createGlide(kind, servers, true)
  if (kind.family === "node-redis") throw new Error("node-redis has no lazyConnect")
  return Promise.resolve(createUnconnected(kind, servers))
}

function hostPort(server: {url: string}): {host: string; port: number} {
  const url = new URL(server.url)
  return {host: url.hostname, port: Number(url.port)}
}

/**
 * The client object before connect(): enough for construction tests. Not for GLIDE, whose
 * clients exist only once connected (see connectGlide).
 */
export function createUnconnected(
  kind: ClientKind,
  servers: Servers,
  options: ConnectOptions = {},
): RedisClientLike {
  const keyPrefix = options.keyPrefix === undefined ? {} : {keyPrefix: options.keyPrefix}
  if (kind.family === "glide") throw new Error("A GLIDE client cannot exist unconnected")
  if (kind.family !== "node-redis") {
    return createIoredisLike(kind, servers, {
      ...kind.clientOptions,
      ...keyPrefix,
      ...options.ioredis,
    })
  }
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

/** ioredis and iovalkey, built lazily (connectClient connects them, as node-redis). */
function createIoredisLike(
  kind: ClientKind,
  servers: Servers,
  options: Record<string, unknown>,
): RedisClientLike {
  const lazy = {lazyConnect: true, ...options}
  const [Client, Cluster] = ioredisClasses(kind)
  switch (kind.topology) {
    case "standalone":
      return new Client(need(servers.standalone, "standalone").url, lazy)
    case "cluster": {
      const nodes = need(servers.cluster, "cluster").rootNodes.map(({url}) => url)
      return new Cluster(nodes, lazy)
    }
    case "sentinel": {
      const setup = need(servers.sentinel, "sentinel")
      const sentinels = [{host: setup.sentinel.host, port: setup.sentinel.port}]
      return new Client({sentinels, name: setup.masterName, ...lazy})
    }
  }
}

interface IoredisClasses {
  Client: new (urlOrOptions: string | object, options?: object) => RedisClientLike
  Cluster: new (startupNodes: string[], options: object) => RedisClientLike
}

/** The package's classes; their TypeScript types differ only in details the tests do not use. */
function ioredisClasses(kind: ClientKind): [IoredisClasses["Client"], IoredisClasses["Cluster"]] {
  if (kind.family === "iovalkey") return [Iovalkey, IovalkeyCluster] as never
  return (kind.version === 5 ? [Ioredis5, Ioredis5Cluster] : [Ioredis6, Ioredis6Cluster]) as never
}

/**
 * Closes a client of any kind we build (node-redis 5/6 destroy(), 4 and ioredis disconnect(),
 * GLIDE close()).
 */
export async function closeClient(client: RedisClientLike): Promise<void> {
  const closable = client as {
    destroy?: () => unknown
    disconnect?: () => unknown
    close?: () => unknown
  }
  if (typeof closable.destroy === "function") closable.destroy()
  else if (typeof closable.disconnect === "function") await closable.disconnect()
  else closable.close?.()
}

/**
 * Whether the client can send now: node-redis says so (isReady), ioredis too (status).
 * GLIDE says nothing (it reconnects by itself): it is ready when a PING answers quickly.
 */
export async function clientIsReady(client: RedisClientLike): Promise<boolean> {
  const state = client as {isReady?: unknown; status?: unknown; isClosed?: unknown}
  if (!isGlideClient(client)) return state.isReady === true || state.status === "ready"
  if (state.isClosed === true) return false
  const answered = client.ping().then(
    () => true,
    () => false,
  )
  return Promise.race([answered, new Promise<boolean>((done) => setTimeout(done, 200, false))])
}

function isGlideClient(client: RedisClientLike): client is RedisClientLike & {
  ping(): Promise<unknown>
} {
  return client instanceof GlideClient || client instanceof GlideClusterClient
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`This test file started no ${what} server`)
  return value
}

/** A server of `kind`'s topology for one suite (a plain server, or a 3-master cluster). */
export interface SuiteServers {
  readonly servers: Servers
  /** Reads and writes those servers directly. */
  readonly raw: RawRedis
  stop(): Promise<void>
}

export async function startServersFor(kind: ClientKind): Promise<SuiteServers> {
  if (kind.topology === "cluster") {
    const cluster = await startCluster(3)
    return {servers: {cluster}, raw: new RawRedis(cluster.nodes), stop: () => cluster.stop()}
  }
  if (kind.topology === "sentinel") throw new Error("startServersFor: no sentinel suites")
  const standalone = await startRedisServer()
  return {servers: {standalone}, raw: new RawRedis([standalone]), stop: () => standalone.stop()}
}
