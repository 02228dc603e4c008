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
import {type Bounds, type BoundsFamily, DISCARD} from "../deadline.js"
import {type LuaScript, READ_ON_NODE, runScript} from "../scripts.js"
import {groupBySlot} from "../slots.js"
import type {FamilyCommands, ReadFinish} from "../types.js"
import {
  crossSlotBatches,
  hasMethods,
  interleave,
  type ScanCall,
  scanEndpoint,
  stringKeyPrefix,
  toValues,
  watchEvents,
} from "./shared.js"

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
}

/** Connection changes a client or a cluster reports (never "error": that is the app's). */
const EVENTS = ["ready", "close", "end", "reconnecting"]
/**
 * A cluster also says when it drops a node: a master's connection ended (ioredis does not
 * reconnect to cluster nodes). Not "+node": the probe's own slot map refresh adds nodes, and
 * would wake it again at once.
 */
const CLUSTER_EVENTS = [...EVENTS, "-node"]

export function ioredisClient(client: IoredisClient, bounds: Bounds): FamilyCommands {
  const clientPrefix = stringKeyPrefix(client.options.keyPrefix)
  return {
    ...keyedCommands(client, bounds),
    // One endpoint: every key is on it, so "per slot" is a single call.
    runScriptPerSlot: async (script, keys, args) => [
      await evalOn(client, bounds, script, keys, args),
    ],
    mget: async (keys) => toValues(await bounds.run(client, (c) => c.mget(...keys))),
    unlink: async (keys) => Number(await bounds.run(client, (c) => c.unlink(...keys))),
    scan: (prefix, count) =>
      scanEndpoint(scanOn(client, bounds, count), client, clientPrefix, prefix),
    ping: async () => {
      await bounds.run(client, (c) => c.ping())
    },
    isReady: () => canSend(client),
    release: () => bounds.release(),
    watch: (listener) => watchEvents(client, EVENTS, listener),
  }
}

export function ioredisCluster(
  cluster: IoredisCluster,
  bounds: Bounds,
  nodeBounds: Bounds,
): FamilyCommands {
  const clientPrefix = stringKeyPrefix(cluster.options.keyPrefix)
  // The slot is computed from the key the server sees, client prefix included.
  const serverKey = (key: string) => clientPrefix + key

  /** Runs `command` once per slot group of `keys`, through the cluster (it follows MOVED). */
  function perSlot<T>(
    keys: readonly string[],
    command: (slotKeys: string[]) => Promise<T>,
  ): Promise<{positions: number[]; reply: T}[]> {
    return Promise.all(
      Array.from(groupBySlot(keys, serverKey), async ({keys: slotKeys, positions}) => ({
        positions,
        reply: await command(slotKeys),
      })),
    )
  }

  /**
   * The connection of every master that serves a hash slot, as the cluster knows them now.
   * Read off the slot map, not `nodes("master")`: ioredis drops a dead master's connection at
   * once, and its slots would go unnoticed until a replica takes them over.
   */
  async function masters(): Promise<IoredisClient[]> {
    // A lazyConnect cluster learns its masters when it connects, which a keyed command
    // would start; SCAN and PING go to the masters, so they start it themselves.
    if (cluster.status === "wait") await bounds.run(cluster, (c) => c.connect())
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

  const wholeBatch = crossSlotBatches()

  /**
   * Runs an on-node `script` (keys after `args`, in ARGV, where keyPrefix is not added) once
   * over a whole SCAN batch on the connection of the master it came from; undefined when
   * that cannot be done: the caller goes slot by slot through the cluster. A write goes only
   * to a ready connection, so that none waits in an offline queue past the store's answer.
   */
  function onNodeAtOnce(
    keys: readonly string[],
    source: unknown,
    script: LuaScript,
    args: readonly string[],
  ): Promise<{reply: unknown} | undefined> {
    const node = source as IoredisClient | undefined
    const writes = script !== READ_ON_NODE
    if (node === undefined || (writes && node.status !== "ready")) {
      return Promise.resolve(undefined)
    }
    return wholeBatch(() => evalOn(node, nodeBounds, script, [], [...args, ...keys.map(serverKey)]))
  }

  return {
    ...keyedCommands(cluster, bounds),
    async mget(keys, source) {
      const whole = await onNodeAtOnce(keys, source, READ_ON_NODE, [])
      if (whole !== undefined) return toValues(whole.reply as unknown[])
      const values: (string | null)[] = new Array(keys.length).fill(null)
      const groups = await perSlot(keys, (slotKeys) =>
        bounds.run(cluster, (c) => c.mget(...slotKeys)),
      )
      for (const {positions, reply} of groups) {
        const groupValues = toValues(reply)
        positions.forEach((position, i) => {
          values[position] = groupValues[i] ?? null
        })
      }
      return values
    },
    async unlink(keys) {
      const groups = await perSlot(keys, (slotKeys) =>
        bounds.run(cluster, (c) => c.unlink(...slotKeys)),
      )
      return groups.reduce((sum, {reply}) => sum + Number(reply), 0)
    },
    async runScriptPerSlot(script, keys, args, source, onNode) {
      const whole = onNode && (await onNodeAtOnce(keys, source, onNode, args))
      if (whole !== undefined) return [whole.reply]
      const groups = await perSlot(keys, (slotKeys) =>
        evalOn(cluster, bounds, script, slotKeys, args),
      )
      return groups.map(({reply}) => reply)
    },
    async *scan(prefix, count) {
      // A snapshot: a failover during the walk is not followed (SCAN gives no promise then).
      const nodes = await masters()
      yield* interleave(
        nodes.map((node) =>
          scanEndpoint(scanOn(node, nodeBounds, count), node, clientPrefix, prefix),
        ),
      )
    },
    // The store can serve every session only when every master answers.
    async ping() {
      try {
        const answers = await Promise.allSettled(
          (await masters()).map((node) => nodeBounds.run(node, (n) => n.ping())),
        )
        const failed = answers.find((answer) => answer.status === "rejected")
        if (failed !== undefined) throw failed.reason
      } catch (error) {
        // A master is gone: if a replica took its slots, reading the slot map again finds it.
        cluster.refreshSlotsCache()
        throw error
      }
    },
    isReady: () => canSend(cluster),
    release: () => bounds.release(),
    watch: (listener) => watchEvents(cluster, CLUSTER_EVENTS, listener),
  }
}

const HASH_SLOTS = 16_384

/** How a cluster's slot map names a node (ioredis's own key format). */
function nodeKey(node: IoredisClient): string {
  return `${String(node.options.host)}:${String(node.options.port)}`
}

function keyedCommands(client: KeyedCommands, bounds: Bounds) {
  return {
    get: <R>(key: string, finish: ReadFinish<R>) =>
      bounds.runGuarded(client, GET, finish, key) as Promise<Awaited<R>>,
    set: (key: string, value: string, ttlMs: number | undefined, onlyOverString: boolean) =>
      bounds.runGuarded(
        client,
        (c) => {
          if (ttlMs === undefined)
            return onlyOverString ? c.set(key, value, "GET") : c.set(key, value)
          return onlyOverString
            ? c.set(key, value, "PX", ttlMs, "GET")
            : c.set(key, value, "PX", ttlMs)
        },
        DISCARD,
      ),
    pExpire: (key: string, ttlMs: number) =>
      bounds.runGuarded(client, (c) => c.pexpire(key, ttlMs), DISCARD),
    getEx: (key: string, ttlMs: number) =>
      bounds.runGuarded(client, (c) => c.getex(key, "PX", ttlMs), DISCARD),
    getDel: (key: string) => bounds.runGuarded(client, (c) => c.getdel(key), DISCARD),
    del: (key: string) => bounds.runGuarded(client, (c) => c.del(key), DISCARD),
    runScript: (script: LuaScript, keys: readonly string[], args: readonly string[]) =>
      evalOn(client, bounds, script, keys, args),
  }
}

/** GET without a closure per call. */
const GET = (client: KeyedCommands, key: string) => client.get(key) as Promise<string | null>

/** EVALSHA, and EVAL on NOSCRIPT; ioredis adds its keyPrefix to the keys. */
function evalOn(
  client: KeyedCommands,
  bounds: Bounds,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const keysAndArgs = [...keys, ...args]
  return runScript(
    script,
    (sha) => bounds.run(client, (c) => c.evalsha(sha, keys.length, ...keysAndArgs)),
    (source) => bounds.run(client, (c) => c.eval(source, keys.length, ...keysAndArgs)),
  )
}

/** SCAN on one endpoint, in ioredis's dialect (its reply is [cursor, keys]). */
function scanOn(node: IoredisClient, bounds: Bounds, count: number): ScanCall {
  return async (cursor, match) => {
    const [next, keys] = await bounds.run(node, (n) =>
      n.scan(cursor, "MATCH", match, "COUNT", count, "TYPE", "string"),
    )
    return {cursor: next, keys}
  }
}
