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
import {isRedirection} from "../../errors.js"
import {type Bounds, DISCARD} from "../deadline.js"
import {type LuaScript, READ_ON_NODE, runScript} from "../scripts.js"
import {groupBySlot, type SlotGroup} from "../slots.js"
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

export function nodeRedisClient(client: NodeRedisCommands, bounds: Bounds): FamilyCommands {
  const clientPrefix = clientKeyPrefix(client)
  return {
    ...singleKeyCommands(client, bounds),
    mget: async (keys) => toValues(await bounds.run(client, (c) => c.mGet([...keys]))),
    unlink: async (keys) => Number(await bounds.run(client, (c) => c.unlink([...keys]))),
    // One endpoint: every key is on it, so "per slot" is a single call.
    runScriptPerSlot: async (script, keys, args) => [
      await evalOn(client, bounds, script, keys, args),
    ],
    scan: (prefix, count) =>
      scanEndpoint(scanOn(client, bounds, count), client, clientPrefix, prefix),
    ping: async () => {
      await bounds.run(client, (c) => c.ping())
    },
    isReady: () => nodeRedisIsReady(client),
    release: () => bounds.release(),
    watch: (listener) => watchEvents(client, CLIENT_EVENTS, listener),
  }
}

export function nodeRedisCluster(cluster: NodeRedisCluster, bounds: Bounds): FamilyCommands {
  const clientPrefix = clientKeyPrefix(cluster)
  // The slot is computed from the key the server sees, client prefix included.
  const serverKey = (key: string) => clientPrefix + key

  /**
   * Runs `command` on each slot group of `keys`, given the raw client: the command applies
   * the time bound itself (once; `client === cluster` must still hold for scripts). Keys
   * found by SCAN on a master are sent to that master's own client, which costs half as much
   * per command as the cluster client on node-redis 6; a group whose slot has moved since
   * (MOVED, ASK) goes through the cluster client, which follows the redirection.
   */
  function perSlot<T>(
    keys: readonly string[],
    source: unknown,
    command: (client: KeyedCommands, keys: string[]) => Promise<T>,
  ): Promise<{group: SlotGroup; reply: T}[]> {
    const node = directNode(source)
    return Promise.all(
      Array.from(groupBySlot(keys, serverKey), async (group) => {
        if (node === undefined) return {group, reply: await command(cluster, group.keys)}
        try {
          // The node client does not add the cluster's keyPrefix: send the key as stored.
          const stored = clientPrefix === "" ? group.keys : group.keys.map(serverKey)
          return {group, reply: await command(node, stored)}
        } catch (error) {
          if (!isRedirection(error)) throw error
          return {group, reply: await command(cluster, group.keys)}
        }
      }),
    )
  }

  /**
   * Scripts through the cluster client go by sendCommand: node-redis 4's cluster `evalSha`
   * routes by the wrong argument (it reads `keys` off the SHA) and lands on a random master.
   * sendCommand adds no keyPrefix, so the keys are sent as the server stores them.
   */
  function clusterEval(script: LuaScript, keys: readonly string[], args: readonly string[]) {
    const stored = keys.map(serverKey)
    const command = (name: string, body: string) =>
      bounds.run(cluster, (c) =>
        c.sendCommand(stored[0] as string, false, [
          name,
          body,
          `${stored.length}`,
          ...stored,
          ...args,
        ]),
      )
    return runScript(
      script,
      (sha) => command("EVALSHA", sha),
      (source) => command("EVAL", source),
    )
  }

  const wholeBatch = crossSlotBatches()

  /**
   * Runs an on-node `script` (keys after `args`, in ARGV) once over a whole SCAN batch on the
   * master it came from; undefined when that cannot be done: the caller goes slot by slot.
   */
  async function onNodeAtOnce(
    keys: readonly string[],
    source: unknown,
    script: LuaScript,
    args: readonly string[],
  ): Promise<{reply: unknown} | undefined> {
    const node = directNode(source)
    if (node === undefined) return undefined
    const stored = clientPrefix === "" ? keys : keys.map(serverKey)
    return wholeBatch(() => evalOn(node, bounds, script, [], [...args, ...stored]))
  }

  /** Every master's own client, as the cluster knows them now. */
  async function masterClients(): Promise<NodeRedisCommands[]> {
    return Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)))
  }

  return {
    ...singleKeyCommands(cluster, bounds),
    runScript: clusterEval,
    async mget(keys, source) {
      const whole = await onNodeAtOnce(keys, source, READ_ON_NODE, [])
      if (whole !== undefined) return toValues(whole.reply as unknown[])
      const values: (string | null)[] = new Array(keys.length).fill(null)
      for (const {group, reply} of await perSlot(keys, source, (client, slotKeys) =>
        bounds.run(client, (c) => c.mGet(slotKeys)),
      )) {
        const groupValues = toValues(reply)
        group.positions.forEach((position, i) => {
          values[position] = groupValues[i] ?? null
        })
      }
      return values
    },
    async unlink(keys, source) {
      const replies = await perSlot(keys, source, (client, slotKeys) =>
        bounds.run(client, (c) => c.unlink(slotKeys)),
      )
      return replies.reduce((sum, {reply}) => sum + Number(reply), 0)
    },
    async runScriptPerSlot(script, keys, args, source, onNode) {
      const whole = onNode && (await onNodeAtOnce(keys, source, onNode, args))
      if (whole !== undefined) return [whole.reply]
      const replies = await perSlot(keys, source, (client, slotKeys) =>
        client === cluster
          ? clusterEval(script, slotKeys, args)
          : evalOn(client, bounds, script, slotKeys, args),
      )
      return replies.map(({reply}) => reply)
    },
    async *scan(prefix, count) {
      // A snapshot: a failover during the walk is not followed (SCAN gives no promise then).
      const nodes = await masterClients()
      yield* interleave(
        nodes.map((node) => scanEndpoint(scanOn(node, bounds, count), node, clientPrefix, prefix)),
      )
    },
    // The store can serve every session only when every master answers.
    async ping() {
      if (cluster.masters.length === 0) throw new Error("The cluster client knows no master")
      const nodes = await masterClients()
      const answers = await Promise.allSettled(
        nodes.map((node) => bounds.run(node, (n) => n.ping())),
      )
      const failed = answers.find((answer) => answer.status === "rejected")
      if (failed === undefined) return
      // A master is gone: if a replica took its slots, a client that rediscovers finds it.
      const masters = [...cluster.masters]
      const up = (i: number) => answers[i]?.status === "fulfilled"
      const live = nodes.find((_, i) => up(i))
      if (live !== undefined) {
        await rediscover(cluster, live, {
          dead: masters.filter((_, i) => !up(i)),
          live: masters.filter((_, i) => up(i)),
        })
      }
      throw failed.reason
    },
    isReady: () => nodeRedisIsReady(cluster),
    release: () => bounds.release(),
    watch: (listener) => watchEvents(cluster, CLUSTER_EVENTS, listener),
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

function singleKeyCommands(client: KeyedCommands, bounds: Bounds) {
  return {
    get: <R>(key: string, finish: ReadFinish<R>) =>
      bounds.runGuarded(client, GET, finish, key) as Promise<Awaited<R>>,
    set: (key: string, value: string, ttlMs: number | undefined, onlyOverString: boolean) =>
      bounds.runGuarded(
        client,
        (c) => c.set(key, value, setOptions(ttlMs, onlyOverString)),
        DISCARD,
      ),
    pExpire: (key: string, ttlMs: number) =>
      bounds.runGuarded(client, (c) => c.pExpire(key, ttlMs), DISCARD),
    getEx: (key: string, ttlMs: number) =>
      bounds.runGuarded(client, (c) => c.getEx(key, {PX: ttlMs}), DISCARD),
    getDel: (key: string) => bounds.runGuarded(client, (c) => c.getDel(key), DISCARD),
    del: (key: string) => bounds.runGuarded(client, (c) => c.del(key), DISCARD),
    runScript: (script: LuaScript, keys: readonly string[], args: readonly string[]) =>
      evalOn(client, bounds, script, keys, args),
  }
}

/** GET without a closure per call. */
const GET = (client: KeyedCommands, key: string) => client.get(key) as Promise<string | null>

const GET_ONLY = {GET: true} as const

function setOptions(ttlMs: number | undefined, onlyOverString: boolean) {
  if (ttlMs === undefined) return onlyOverString ? GET_ONLY : undefined
  return onlyOverString ? {PX: ttlMs, GET: true as const} : {PX: ttlMs}
}

function evalOn(
  client: KeyedCommands,
  bounds: Bounds,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  // node-redis only reads these arrays: no copy on the per-request path.
  const options = {keys: keys as string[], arguments: args as string[]}
  return runScript(
    script,
    (sha) => bounds.run(client, (c) => c.evalSha(sha, options)),
    (source) => bounds.run(client, (c) => c.eval(source, options)),
  )
}

/** SCAN on one endpoint, in node-redis's dialect (4, 5 and 6 take the same options). */
function scanOn(node: NodeRedisCommands, bounds: Bounds, count: number): ScanCall {
  return (cursor, match) =>
    bounds.run(node, (n) => n.scan(cursor, {MATCH: match, COUNT: count, TYPE: "string"}))
}
