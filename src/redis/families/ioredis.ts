// Adapters for ioredis 5 and 6 and its fork iovalkey (the same API): `new Redis(...)`, with
// or without `sentinels`, and `new Cluster(...)`.
//
// How they differ from node-redis, and how this file copes:
// - Commands take Redis's own argument list: SET key value EX n GET, EVALSHA sha numkeys ...
// - `keyPrefix` (client or cluster option) is added to every key, script keys included, but
//   not to SCAN MATCH, and SCAN replies carry it: we match and strip it ourselves.
// - A cluster routes a multi-key command by its first key and Redis refuses keys of several
//   slots (CROSSSLOT): keys are grouped by slot. The cluster has no SCAN of its own: each
//   master that serves slots is scanned through its own connection.
// - There is no way to withdraw a command from ioredis's offline queue. So, as for
//   node-redis 4, nothing is handed to a client that is not ready: the store answers
//   ENOTCONN at once, and no write of ours can be sent after a reconnect, long after the
//   store reported it failed. (A cluster command ioredis is already retrying, after MOVED or a
//   closed connection, may still be sent once a failover is over: docs/outages.md says so.)
// - A `lazyConnect` client (status "wait") connects on its first command, and ioredis makes
//   a cluster's node connections that way too: "wait" counts as ready. The store never
//   connects a client before it has a command for it (the app's own connect() would fail).

import {RedisUnavailableError} from "../../errors.js"
import type {Bounds, BoundsFamily} from "../bounds.js"
import {type ClusterDialect, clusterCommands} from "../cluster.js"
import {
  type EndpointDialect,
  endpointCommands,
  type KeyedDialect,
  keyedCommands,
  nodeCommands,
} from "../endpoint.js"
import type {FamilyCommands} from "../types.js"
import {connection, hasMethods, stringKeyPrefix} from "./shared.js"

type Argument = string | number

/** The keyed commands the adapter calls, on a client or a cluster. */
interface KeyedCommands {
  readonly status: string
  readonly options: {keyPrefix?: unknown}
  get(key: string): Promise<unknown>
  set(key: string, value: string, ...options: Argument[]): Promise<unknown>
  pexpire(key: string, ms: number): Promise<unknown>
  getex(key: string, ...options: Argument[]): Promise<unknown>
  getdel(key: string): Promise<unknown>
  del(key: string): Promise<unknown>
  unlink(...keys: string[]): Promise<unknown>
  mget(...keys: string[]): Promise<unknown[]>
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(source: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
}

/** A client (plain or through sentinels), or one node of a cluster. */
interface IoredisClient extends KeyedCommands {
  readonly options: {keyPrefix?: unknown; host?: unknown; port?: unknown}
  scan(cursor: string, ...options: Argument[]): Promise<[cursor: string, keys: string[]]>
  ping(): Promise<unknown>
}

interface IoredisCluster extends KeyedCommands {
  /** Per hash slot, the keys ("host:port") of its master and replicas. */
  readonly slots: readonly (readonly string[] | undefined)[]
  connect(): Promise<unknown>
  nodes(role: "master"): IoredisClient[]
  refreshSlotsCache(): void
}

const KEYED_COMMANDS = [
  ...["get", "set", "pexpire", "getex", "getdel", "del", "unlink", "mget"],
  ...["evalsha", "eval"],
] as const

function hasStatus(client: object): boolean {
  return typeof (client as {status?: unknown}).status === "string"
}

/**
 * For an object that looks like ioredis (it has `scanStream` or a `status`) but is not one we
 * can use: the commands it lacks, for the error message.
 */
export function missingIoredisCommands(client: object): string[] | undefined {
  if (!hasMethods(client, ["scanStream"]) && !hasStatus(client)) return undefined
  const needed = [...KEYED_COMMANDS, "scan", "ping"]
  return needed.filter((name) => !hasMethods(client, [name]))
}

export function isIoredis(client: object): client is IoredisClient {
  return hasMethods(client, [...KEYED_COMMANDS, "scan", "ping", "scanStream"]) && hasStatus(client)
}

export function isIoredisCluster(client: object): client is IoredisCluster {
  const clusterMethods = ["nodes", "refreshSlotsCache", "connect"]
  return hasMethods(client, [...KEYED_COMMANDS, ...clusterMethods]) && hasStatus(client)
}

function statusOf(client: object): unknown {
  return (client as {status?: unknown}).status
}

/** ioredis's own errors for a client it cannot send on, turned into the store's. */
function ioredisError(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  withoutArguments(error)
  const {message} = error
  if (message === "Command timed out") {
    return new RedisUnavailableError("ETIMEDOUT", "Redis did not answer within commandTimeout")
  }
  if (
    message === "Connection is closed." ||
    message === "Cluster is ended." ||
    message === "None of startup nodes is available" ||
    message.endsWith("enableOfflineQueue options is false") ||
    error.name === "MaxRetriesPerRequestError"
  ) {
    return new RedisUnavailableError("ENOTCONN", `The Redis client is not connected (${message})`)
  }
  return error
}

/**
 * ioredis puts a command's arguments on its reply errors (`error.command.args`): a session's
 * key, which holds its id (a bearer secret), and its data. Such an error reaches callers,
 * loggers and diagnostics payloads, so the arguments are dropped; the command's name stays.
 */
function withoutArguments(error: Error): void {
  const {command} = error as {command?: unknown}
  if (typeof command === "object" && command !== null && "args" in command) {
    ;(error as {command?: unknown}).command = {name: (command as {name?: unknown}).name}
  }
}

/**
 * Ready, or never connected yet ("wait": the first command connects it, and waits in the
 * queue only for that first connection). Otherwise nothing is handed over: ioredis could
 * not withdraw it.
 */
function canSend(client: object): boolean {
  const status = statusOf(client)
  return status === "ready" || status === "wait"
}

export const IOREDIS: BoundsFamily = {
  isReady: canSend,
  withSignal: () => undefined,
  mapError: ioredisError,
  // quit() or disconnect(), or a retryStrategy that gave up: "end" (reconnecting is not).
  isClosed: (client) => statusOf(client) === "end",
}

/**
 * A cluster's node connections get SCAN and PING only: reads, harmless if sent late, so they
 * may wait in a node's queue while it connects (ioredis opens them on first use). Only a
 * node known to be down (reconnecting, closed) is handed nothing: it fails at once.
 */
export const IOREDIS_CLUSTER_NODE: BoundsFamily = {
  isReady: (node) => !["reconnecting", "close", "end"].includes(String(statusOf(node))),
  withSignal: () => undefined,
  mapError: ioredisError,
  // A node the cluster dropped is not the app's doing: it fails as not ready.
  isClosed: () => false,
}

/** Connection changes a client or a cluster reports (never "error": that is the app's). */
const EVENTS = ["ready", "close", "end", "reconnecting"]
/**
 * A cluster also says when it drops a node: a master's connection ended (ioredis does not
 * reconnect to cluster nodes). Not "+node": the probe's own slot map refresh adds nodes, and
 * would wake it again at once.
 */
const CLUSTER_EVENTS = [...EVENTS, "-node"]

/** ioredis's spelling of each command (Redis's own argument lists); it adds its keyPrefix. */
const KEYED: KeyedDialect<KeyedCommands> = {
  get: (c, key) => c.get(key),
  set(c, key, value, ttlMs, onlyOverString) {
    if (ttlMs === undefined) return onlyOverString ? c.set(key, value, "GET") : c.set(key, value)
    return onlyOverString ? c.set(key, value, "PX", ttlMs, "GET") : c.set(key, value, "PX", ttlMs)
  },
  pExpire: (c, key, ttlMs) => c.pexpire(key, ttlMs),
  getEx: (c, key, ttlMs) => c.getex(key, "PX", ttlMs),
  getDel: (c, key) => c.getdel(key),
  del: (c, key) => c.del(key),
  mget: (c, keys) => c.mget(...keys),
  unlink: (c, keys) => c.unlink(...keys),
  evalSha: (c, sha, keys, args) => c.evalsha(sha, keys.length, ...keys, ...args),
  eval: (c, source, keys, args) => c.eval(source, keys.length, ...keys, ...args),
}

const IOREDIS_COMMANDS: EndpointDialect<IoredisClient> = {
  ...KEYED,
  async scan(c, cursor, match, count) {
    const [next, keys] = await c.scan(cursor, "MATCH", match, "COUNT", count, "TYPE", "string")
    return {cursor: next, keys}
  },
  ping: (c) => c.ping(),
}

export function ioredisClient(client: IoredisClient, bounds: Bounds): FamilyCommands {
  const clientPrefix = stringKeyPrefix(client.options.keyPrefix)
  return {
    ...keyedCommands(client, bounds, KEYED),
    ...endpointCommands(client, bounds, IOREDIS_COMMANDS, clientPrefix),
    ...connection(client, bounds, canSend, EVENTS),
  }
}

export function ioredisCluster(
  cluster: IoredisCluster,
  bounds: Bounds,
  nodeBounds: Bounds,
): FamilyCommands {
  const dialect: ClusterDialect<IoredisClient> = {
    clientPrefix: stringKeyPrefix(cluster.options.keyPrefix),
    slotGroupsOnNode: false,
    cluster: nodeCommands(cluster, bounds, KEYED),
    // A write goes only to a ready connection, so that none waits in an offline queue past
    // the store's answer.
    nodeOf(source, writes) {
      const node = source as IoredisClient | undefined
      if (node === undefined || (writes && node.status !== "ready")) return undefined
      return nodeCommands(node, nodeBounds, KEYED)
    },
    masters: () => mastersOf(cluster, bounds),
    scan: (node, cursor, match, count) =>
      nodeBounds.run(node, (n) => IOREDIS_COMMANDS.scan(n, cursor, match, count)),
    ping: (node) => nodeBounds.probe(node, (n) => n.ping()),
    // Reading the slot map again finds a replica that took a dead master's slots.
    recover: async () => cluster.refreshSlotsCache(),
  }
  return {
    ...keyedCommands(cluster, bounds, KEYED),
    ...clusterCommands(dialect),
    ...connection(cluster, bounds, canSend, CLUSTER_EVENTS),
  }
}

/**
 * The connection of every master that serves a hash slot, as the cluster knows them now.
 * Read off the slot map, not `nodes("master")`: ioredis drops a dead master's connection at
 * once, and its slots would go unnoticed until a replica takes them over.
 */
async function mastersOf(cluster: IoredisCluster, bounds: Bounds): Promise<IoredisClient[]> {
  // A lazyConnect cluster learns its masters when it connects, which a keyed command
  // would start; SCAN and PING go to the masters, so they start it themselves.
  if (cluster.status === "wait") await bounds.probe(cluster, (c) => c.connect())
  const connections = new Map(cluster.nodes("master").map((node) => [nodeKey(node), node]))
  const owners = new Map<string, IoredisClient>()
  for (let slot = 0; slot < HASH_SLOTS; slot++) {
    const owner = cluster.slots[slot]?.[0]
    if (owner === undefined) {
      throw new RedisUnavailableError("ENOTCONN", `No master is known for hash slot ${slot}`)
    }
    if (owners.has(owner)) continue
    const node = connections.get(owner)
    if (node === undefined) {
      throw new RedisUnavailableError(
        "ENOTCONN",
        `The cluster client has no connection to ${owner}, the master of hash slot ${slot}`,
      )
    }
    owners.set(owner, node)
  }
  return [...owners.values()]
}

const HASH_SLOTS = 16_384

/** How a cluster's slot map names a node (ioredis's own key format). */
function nodeKey(node: IoredisClient): string {
  return `${String(node.options.host)}:${String(node.options.port)}`
}
