// Adapters for node-redis 4, 5 and 6: createClient, createSentinel (5+), createCluster.
//
// What differs between the majors, and how this file copes without asking the version:
// - SET expiry: `{PX: n}` (like `{EX: n}`) is an option form all three accept (4 ignores
//   `expiration`); `{GET: true}` is spelled the same on all three.
// - SCAN: `scanIterator` yields single keys on 4 and arrays on 5/6, and 5's sentinel has
//   none, so we drive the `scan` command ourselves; its cursor is a number on 4 and a
//   string on 5/6, so it is compared as a string.
// - 6.1+ `keyPrefix` is applied to keys but not to SCAN MATCH, and SCAN replies carry it;
//   see `clientKeyPrefix`.
// - GETEX: `{PX: n}` on all three (5 and 6 also take `{type: "PX", value: n}`).
// - EVALSHA/EVAL: `evalSha(sha, {keys, arguments})` on all three; 6.1+ `keyPrefix` is
//   applied to the script's keys as to any other key.
// - Clusters: 4/5 reject multi-key commands across slots (CROSSSLOT) and none has a
//   cluster-wide SCAN before 6.2, so we group keys by slot and scan each master.

import calculateSlot from "cluster-key-slot"
import type {Bounds} from "../bounds.js"
import {type ClusterDialect, clusterCommands} from "../cluster.js"
import {
  type EndpointDialect,
  endpointCommands,
  evalOn,
  type KeyedDialect,
  keyedCommands,
  nodeCommands,
  type ScriptDialect,
} from "../endpoint.js"
import type {FamilyCommands} from "../types.js"
import {connection, hasMethods, stringKeyPrefix} from "./shared.js"

/** The keyed commands the adapter calls, on a client, sentinel or cluster. */
interface KeyedCommands {
  get(key: string): Promise<unknown>
  set(key: string, value: string, options?: {PX?: number; GET?: true}): Promise<unknown>
  pExpire(key: string, ms: number): Promise<unknown>
  getEx(key: string, options: {PX: number}): Promise<unknown>
  getDel(key: string): Promise<unknown>
  del(key: string): Promise<unknown>
  unlink(keys: string[]): Promise<unknown>
  mGet(keys: string[]): Promise<unknown[]>
  evalSha(sha: string, options: ScriptOptions): Promise<unknown>
  eval(source: string, options: ScriptOptions): Promise<unknown>
}

interface ScriptOptions {
  keys: string[]
  arguments: string[]
}

/** A client or sentinel, or a cluster's node client: one endpoint, so SCAN is there too. */
interface NodeRedisCommands extends KeyedCommands {
  ping(): Promise<unknown>
  scan(
    cursor: string,
    options: {MATCH: string; COUNT: number; TYPE: string},
  ): Promise<{cursor: unknown; keys: unknown[]}>
}

/** A cluster has no SCAN of its own before node-redis 6.2 (4 has none at all). */
interface NodeRedisCluster extends KeyedCommands {
  readonly masters: readonly unknown[]
  nodeClient(master: unknown): NodeRedisCommands | Promise<NodeRedisCommands>
  /** The same on 4, 5 and 6: routed by `firstKey` as given, arguments sent as they are. */
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>
}

const KEYED_COMMANDS = [
  ...["get", "set", "pExpire", "getEx", "getDel", "del", "unlink", "mGet"],
  ...["evalSha", "eval"],
] as const

export function isNodeRedis(client: object): client is NodeRedisCommands {
  return hasMethods(client, [...KEYED_COMMANDS, "scan", "ping"])
}

export function isNodeRedisCluster(client: object): client is NodeRedisCluster {
  return (
    hasMethods(client, [...KEYED_COMMANDS, "nodeClient", "sendCommand"]) &&
    Array.isArray((client as {masters?: unknown}).masters)
  )
}

/**
 * The key prefix the client itself adds to every key (node-redis 6.1+ `keyPrefix`), or "".
 * It is read from the client, sentinel or cluster the user gave us; a cluster's node
 * clients do not carry it, which suits us: we only run SCAN on them.
 */
export function clientKeyPrefix(client: object): string {
  const holder = client as {_keyPrefix?: unknown; options?: {keyPrefix?: unknown}}
  return stringKeyPrefix(holder._keyPrefix ?? holder.options?.keyPrefix)
}

/** node-redis's spelling of each command (the same on 4, 5 and 6), cluster included. */
const KEYED: KeyedDialect<KeyedCommands> = {
  get: (c, key) => c.get(key),
  set: (c, key, value, ttlMs, onlyOverString) =>
    c.set(key, value, setOptions(ttlMs, onlyOverString)),
  pExpire: (c, key, ttlMs) => c.pExpire(key, ttlMs),
  getEx: (c, key, ttlMs) => c.getEx(key, {PX: ttlMs}),
  getDel: (c, key) => c.getDel(key),
  del: (c, key) => c.del(key),
  mget: (c, keys) => c.mGet(keys),
  unlink: (c, keys) => c.unlink(keys),
  // node-redis only reads these arrays: no copy on the per-request path.
  evalSha: (c, sha, keys, args) => c.evalSha(sha, scriptOptions(keys, args)),
  eval: (c, source, keys, args) => c.eval(source, scriptOptions(keys, args)),
}

const NODE_REDIS: EndpointDialect<NodeRedisCommands> = {
  ...KEYED,
  scan: (c, cursor, match, count) => c.scan(cursor, {MATCH: match, COUNT: count, TYPE: "string"}),
  ping: (c) => c.ping(),
}

export function nodeRedisClient(client: NodeRedisCommands, bounds: Bounds): FamilyCommands {
  return {
    ...keyedCommands(client, bounds, NODE_REDIS),
    ...endpointCommands(client, bounds, NODE_REDIS, clientKeyPrefix(client)),
    ...connection(client, bounds, nodeRedisIsReady, CLIENT_EVENTS),
  }
}

export function nodeRedisCluster(cluster: NodeRedisCluster, bounds: Bounds): FamilyCommands {
  const clientPrefix = clientKeyPrefix(cluster)

  /**
   * Scripts through the cluster client go by sendCommand: node-redis 4's cluster `evalSha`
   * routes by the wrong argument (it reads `keys` off the SHA) and lands on a random master.
   * sendCommand adds no keyPrefix, so the keys are sent as the server stores them.
   */
  const send = (
    c: NodeRedisCluster,
    name: string,
    body: string,
    keys: readonly string[],
    args: readonly string[],
  ) => {
    const stored = keys.map((key) => clientPrefix + key)
    return c.sendCommand(stored[0] as string, false, [
      name,
      body,
      `${stored.length}`,
      ...stored,
      ...args,
    ])
  }
  const scripts: ScriptDialect<NodeRedisCluster> = {
    evalSha: (c, sha, keys, args) => send(c, "EVALSHA", sha, keys, args),
    eval: (c, source, keys, args) => send(c, "EVAL", source, keys, args),
  }
  // EVAL on NOSCRIPT, within the bound, as on a plain client.
  const clusterEval: FamilyCommands["runScript"] = (script, keys, args, finish) =>
    evalOn(cluster, bounds, scripts, script, keys, args, finish)

  const dialect: ClusterDialect<NodeRedisCommands> = {
    clientPrefix,
    // A node client costs half as much per command as the cluster client (node-redis 6).
    slotGroupsOnNode: true,
    cluster: {...nodeCommands(cluster, bounds, KEYED), eval: clusterEval},
    nodeOf(source) {
      const node = directNode(source)
      return node && nodeCommands(node, bounds, NODE_REDIS)
    },
    async masters() {
      if (cluster.masters.length === 0) throw new Error("The cluster client knows no master")
      return Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)))
    },
    scan: (node, cursor, match, count) =>
      bounds.run(node, (n) => NODE_REDIS.scan(n, cursor, match, count)),
    ping: (node) => bounds.probe(node, (n) => n.ping()),
    async recover(nodes, answered) {
      // nodes[i] is the client of cluster.masters[i] (masters() keeps the order).
      const live = nodes.find((_, i) => answered[i])
      if (live === undefined) return
      const masters = [...cluster.masters]
      await rediscover(cluster, live, {
        dead: masters.filter((_, i) => !answered[i]),
        live: masters.filter((_, i) => answered[i]),
      })
    },
  }

  return {
    ...keyedCommands(cluster, bounds, KEYED),
    runScript: clusterEval,
    ...clusterCommands(dialect),
    ...connection(cluster, bounds, nodeRedisIsReady, CLUSTER_EVENTS),
  }
}

/**
 * Asks the cluster client to read the slot map again. node-redis 6 does this by itself after
 * a failover; node-redis 5 keeps its old map until something calls its `rediscover`.
 * node-redis 4 has no such method, but rediscovers when a command meets MOVED: so a GET for
 * a key of a dead master's slots is sent, routed by a key a live master serves, which
 * answers MOVED (pointing at the promoted replica).
 */
async function rediscover(
  cluster: NodeRedisCluster,
  live: object,
  masters: {dead: unknown[]; live: unknown[]},
): Promise<void> {
  const slots = (cluster as {_slots?: {rediscover?: unknown}})._slots
  try {
    if (typeof slots?.rediscover === "function") {
      await (slots.rediscover as (startWith: object) => Promise<unknown>).call(slots, live)
      return
    }
    const deadKey = keyServedBy(cluster, masters.dead)
    const liveKey = keyServedBy(cluster, masters.live)
    if (deadKey !== undefined && liveKey !== undefined) {
      await cluster.sendCommand(liveKey, true, ["GET", deadKey])
    }
  } catch {
    // MOVED until the map is fresh, or still no promoted replica: the next probe tries again.
  }
}

/** A key whose slot one of `masters` serves, in the cluster client's slot map (node-redis 4). */
function keyServedBy(cluster: object, masters: unknown[]): string | undefined {
  const map = (cluster as {slots?: unknown}).slots
  if (!Array.isArray(map) || masters.length === 0) return undefined
  for (let i = 0; i < 1000; i++) {
    const key = `redis-session-store:probe:${i}`
    const owner = (map[calculateSlot(key)] as {master?: unknown} | undefined)?.master
    if (masters.includes(owner)) return key
  }
  return undefined
}

/** Client and sentinel events that say the connection changed (never "error": that is the app's). */
const CLIENT_EVENTS = ["ready", "end", "reconnecting"]
/** node-redis 5/6 cluster events for the same (4 has none: failures and probes tell). */
const CLUSTER_EVENTS = ["node-ready", "node-reconnecting", "node-disconnect", "disconnect"]

/**
 * Whether a command given to `client` now would be sent. Clients, sentinels and node-redis 6
 * clusters say (`isReady`). node-redis 4 and 5 clusters have `isOpen` only, which is true
 * from the start of connect(): they are ready once they have read the slot map (a command
 * before that fails inside the client), which fills `masters` in one step.
 */
export function nodeRedisIsReady(client: object): boolean {
  const state = client as {isReady?: unknown; isOpen?: unknown; masters?: unknown}
  if (typeof state.isReady === "boolean") return state.isReady
  return state.isOpen === true && (!Array.isArray(state.masters) || state.masters.length > 0)
}

/** The node client a SCAN batch came from, when commands can go to it as they are. */
function directNode(source: unknown): NodeRedisCommands | undefined {
  if (typeof source !== "object" || source === null || !isNodeRedis(source)) return undefined
  // A node client with a prefix of its own (cluster `defaults.keyPrefix`) would add it twice.
  return clientKeyPrefix(source) === "" ? source : undefined
}

const GET_ONLY = {GET: true} as const

function setOptions(ttlMs: number | undefined, onlyOverString: boolean) {
  if (ttlMs === undefined) return onlyOverString ? GET_ONLY : undefined
  return onlyOverString ? {PX: ttlMs, GET: true as const} : {PX: ttlMs}
}

function scriptOptions(keys: readonly string[], args: readonly string[]): ScriptOptions {
  return {keys: keys as string[], arguments: args as string[]}
}
