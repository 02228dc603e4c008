// Adapters for Valkey GLIDE (`@valkey/valkey-glide` 2): GlideClient and GlideClusterClient.
//
// How GLIDE differs, and how this file copes:
// - A client exists only once connected (`createClient` resolves then; with `lazyConnect` it
//   connects on its first command, like ioredis's "wait"). It emits no events and reconnects
//   by itself; a command meanwhile waits up to its `requestTimeout`. So a client is ready
//   until it is closed, and a heartbeat (one PING a second) tells the stores of changes.
// - Errors: replies come as "WRONGTYPE: ..." or "An error was signalled by the server: -
//   NoScriptError: ..." (named after their kind): they are spelled back as Redis spells them
//   ("WRONGTYPE ...", "NOSCRIPT ...") for the rules in errors.ts.
// - A cluster routes keyed commands itself (EVALSHA by its keys) and follows MOVED. Its
//   masters come from CLUSTER NODES; SCAN, PING and whole-batch scripts go to one master by
//   address. There is no way to withdraw a command: a closed client is handed nothing.

import {RedisUnavailableError} from "../../errors.js"
import type {Bounds, BoundsFamily} from "../bounds.js"
import {type ClusterDialect, clusterCommands, type NodeCommands} from "../cluster.js"
import {
  type EndpointDialect,
  endpointCommands,
  type KeyedDialect,
  keyedCommands,
  nodeCommands,
} from "../endpoint.js"
import {runScript} from "../scripts.js"
import type {FamilyCommands} from "../types.js"
import {hasMethods} from "./shared.js"

/** The commands this adapter calls, on a GlideClient or a GlideClusterClient. */
interface GlideCommands {
  get(key: string): Promise<unknown>
  set(key: string, value: string, options?: object): Promise<unknown>
  pexpire(key: string, ms: number): Promise<unknown>
  getex(key: string, options: object): Promise<unknown>
  getdel(key: string): Promise<unknown>
  del(keys: string[]): Promise<unknown>
  unlink(keys: string[]): Promise<unknown>
  mget(keys: string[]): Promise<unknown[]>
  customCommand(
    args: string[],
    options?: {route: NodeAddress | "randomNode" | "allPrimaries"},
  ): Promise<unknown>
  ping(): Promise<unknown>
}

/** How GLIDE names one node of a cluster (a route). */
interface NodeAddress {
  readonly type: "routeByAddress"
  readonly host: string
  readonly port: number
}

const COMMANDS = [
  ...["get", "set", "pexpire", "getex", "getdel", "del", "unlink", "mget"],
  ...["customCommand", "ping", "close", "invokeScript"],
]

export function isGlide(client: object): client is GlideCommands {
  return hasMethods(client, COMMANDS)
}

export function isGlideCluster(client: object): client is GlideCommands {
  return isGlide(client) && hasMethods(client, ["invokeScriptWithRoute"])
}

/** Ready until closed: GLIDE reconnects by itself, and holds a command while it does. */
function isOpen(client: object): boolean {
  return (client as {isClosed?: unknown}).isClosed !== true
}

/** Server replies GLIDE names by their kind, spelled back as Redis spells them. */
const REPLY_CODES: Record<string, string> = {
  NoScriptError: "NOSCRIPT",
  Moved: "MOVED",
  Ask: "ASK",
  TryAgain: "TRYAGAIN",
  CrossSlot: "CROSSSLOT",
  ClusterDown: "CLUSTERDOWN",
  MasterDown: "MASTERDOWN",
  ReadOnly: "READONLY",
  BusyLoadingError: "LOADING",
  ResponseError: "ERR",
}

function glideError(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const lost = /^Failed to create initial connection|Connection refused|Broken pipe/i
  if (
    error.name === "ClosingError" ||
    error.name === "ConnectionError" ||
    lost.test(error.message)
  ) {
    return new RedisUnavailableError(
      "ENOTCONN",
      `The GLIDE client is not connected (${error.message})`,
    )
  }
  if (error.name === "TimeoutError") {
    return new RedisUnavailableError("ETIMEDOUT", "Redis did not answer within requestTimeout")
  }
  // "WRONGTYPE: Operation..." is Redis's "WRONGTYPE Operation...".
  const coded = /^([A-Z][A-Z_-]*): (.*)$/s.exec(error.message)
  if (coded !== null) return new Error(`${coded[1]} ${coded[2]}`, {cause: error})
  const reply = /^An error was signalled by the server: - (\w+):? ?(.*)$/s.exec(error.message)
  const code = reply && REPLY_CODES[reply[1] as string]
  if (code === undefined || reply === null) return error
  return new Error(`${code} ${reply[2]}`, {cause: error})
}

export const GLIDE: BoundsFamily = {
  isReady: isOpen,
  withSignal: () => undefined,
  mapError: glideError,
  // GLIDE reconnects by itself while open: not open means close() was called.
  isClosed: (client) => !isOpen(client),
}

const PX = "PX" // TimeUnit.Milliseconds

const KEYED: KeyedDialect<GlideCommands> = {
  get: (c, key) => c.get(key),
  set: (c, key, value, ttlMs, onlyOverString) =>
    c.set(key, value, {
      ...(ttlMs === undefined ? {} : {expiry: {type: PX, count: ttlMs}}),
      ...(onlyOverString ? {returnOldValue: true} : {}),
    }),
  pExpire: (c, key, ttlMs) => c.pexpire(key, ttlMs),
  getEx: (c, key, ttlMs) => c.getex(key, {expiry: {type: PX, duration: ttlMs}}),
  getDel: (c, key) => c.getdel(key),
  del: (c, key) => c.del([key]),
  mget: (c, keys) => c.mget(keys),
  unlink: (c, keys) => c.unlink(keys),
  evalSha: (c, sha, keys, args) =>
    c.customCommand(["EVALSHA", sha, `${keys.length}`, ...keys, ...args]),
  eval: (c, source, keys, args) =>
    c.customCommand(["EVAL", source, `${keys.length}`, ...keys, ...args]),
}

const ENDPOINT: EndpointDialect<GlideCommands> = {
  ...KEYED,
  scan: async (c, cursor, match, count) =>
    scanReply(await c.customCommand(scanArgs(cursor, match, count))),
  ping: (c) => c.ping(),
}

export function glideClient(client: GlideCommands, bounds: Bounds): FamilyCommands {
  return {
    ...keyedCommands(client, bounds, KEYED),
    ...endpointCommands(client, bounds, ENDPOINT, ""),
    watch: heartbeat(client),
    isReady: () => isOpen(client),
    isClosed: () => !isOpen(client),
    release: () => bounds.release(),
  }
}

/**
 * GLIDE reports no connection changes, so one heartbeat per client stands in for them: a
 * PING once a second (named, so that it is told apart from the store's own), and the stores
 * watching are told when it fails, and when it answers again (they then look for
 * themselves). One heartbeat per client, whatever the number of stores; listeners are held
 * weakly, as client events hold them, and it stops with the last of them or with the client.
 */
function heartbeat(
  client: GlideCommands,
  options?: {route: "allPrimaries"},
): (listener: () => void) => () => void {
  return (listener) => {
    let listeners = heartbeats.get(client)
    if (listeners === undefined) {
      listeners = new Set()
      heartbeats.set(client, listeners)
      beat(client, listeners, options)
    }
    const ref = new WeakRef(listener)
    listeners.add(ref)
    return () => listeners.delete(ref)
  }
}

const heartbeats = new WeakMap<object, Set<WeakRef<() => void>>>()
const HEARTBEAT_MS = 1000
/** PING's optional message: the heartbeat's, as SLOWLOG and MONITOR show it. */
export const HEARTBEAT = ["PING", "redis-session-store heartbeat"]

function beat(
  client: GlideCommands,
  listeners: Set<WeakRef<() => void>>,
  options: {route: "allPrimaries"} | undefined,
): void {
  let answered = true
  const timer = setInterval(async () => {
    if (listeners.size === 0 || !isOpen(client)) {
      clearInterval(timer)
      heartbeats.delete(client)
      return
    }
    let bound: NodeJS.Timeout | undefined
    const now = await Promise.race([
      client.customCommand(HEARTBEAT, options).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        bound = setTimeout(resolve, HEARTBEAT_MS, false)
      }),
    ])
    clearTimeout(bound)
    // Every failed beat is told (a store that began watching meanwhile must hear it too);
    // a healthy beat only when it ends a failure.
    if (now && answered) return
    answered = now
    for (const ref of listeners) {
      const current = ref.deref()
      if (current === undefined) listeners.delete(ref)
      else current()
    }
  }, HEARTBEAT_MS)
  timer.unref()
}

export function glideCluster(cluster: GlideCommands, bounds: Bounds): FamilyCommands {
  const onNode = (node: NodeAddress, args: string[]) =>
    bounds.run(cluster, (c) => c.customCommand(args, {route: node}))
  const dialect: ClusterDialect<NodeAddress> = {
    clientPrefix: "",
    slotGroupsOnNode: false,
    cluster: nodeCommands(cluster, bounds, KEYED),
    nodeOf: (source) => (isNodeAddress(source) ? commandsOn(source, onNode) : undefined),
    async masters() {
      // Past the gate: the health probe reads the masters too.
      const nodes = await bounds.probe(cluster, (c) =>
        c.customCommand(["CLUSTER", "NODES"], {route: "randomNode"}),
      )
      return mastersIn(String(nodes))
    },
    scan: async (node, cursor, match, count) =>
      scanReply(await onNode(node, scanArgs(cursor, match, count))),
    ping: (node) => bounds.probe(cluster, (c) => c.customCommand(["PING"], {route: node})),
    // GLIDE refreshes its slot map by itself (on MOVED, and periodically).
    recover: async () => {},
  }
  return {
    ...keyedCommands(cluster, bounds, KEYED),
    ...clusterCommands(dialect),
    // Every master must answer, as for the store's own probe.
    watch: heartbeat(cluster, {route: "allPrimaries"}),
    isReady: () => isOpen(cluster),
    isClosed: () => !isOpen(cluster),
    release: () => bounds.release(),
  }
}

function commandsOn(
  node: NodeAddress,
  send: (node: NodeAddress, args: string[]) => Promise<unknown>,
): NodeCommands {
  const script = (name: string, body: string, keys: readonly string[], args: readonly string[]) =>
    send(node, [name, body, `${keys.length}`, ...keys, ...args])
  return {
    mget: async (keys) => (await send(node, ["MGET", ...keys])) as unknown[],
    unlink: (keys) => send(node, ["UNLINK", ...keys]),
    eval: (lua, keys, args) =>
      runScript(
        lua,
        (sha) => script("EVALSHA", sha, keys, args),
        (source) => script("EVAL", source, keys, args),
      ),
  }
}

/**
 * The masters that serve slots, from CLUSTER NODES ("<id> <host:port@bus> <flags> <master>
 * <ping> <pong> <epoch> <state> <slots>..."). A master flagged as failed that still holds
 * slots is kept: its sessions cannot be served until a replica takes them over.
 */
function mastersIn(nodes: string): NodeAddress[] {
  const masters: NodeAddress[] = []
  for (const line of nodes.split("\n")) {
    const fields = line.trim().split(" ")
    const [address, flags] = [fields[1] ?? "", (fields[2] ?? "").split(",")]
    if (!flags.includes("master") || fields.length < 9) continue
    const hostPort = address.split("@")[0] ?? ""
    const colon = hostPort.lastIndexOf(":")
    masters.push({
      type: "routeByAddress",
      host: hostPort.slice(0, colon),
      port: Number(hostPort.slice(colon + 1)),
    })
  }
  if (masters.length === 0) {
    throw new RedisUnavailableError("ENOTCONN", "The cluster reports no master serving slots")
  }
  return masters
}

function isNodeAddress(source: unknown): source is NodeAddress {
  return (source as {type?: unknown} | undefined)?.type === "routeByAddress"
}

function scanArgs(cursor: string, match: string, count: number): string[] {
  return ["SCAN", cursor, "MATCH", match, "COUNT", `${count}`, "TYPE", "string"]
}

function scanReply(reply: unknown): {cursor: unknown; keys: unknown[]} {
  const [cursor, keys] = reply as [unknown, unknown[]]
  return {cursor, keys}
}
