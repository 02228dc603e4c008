// The command line's connection: a client from the app's own package (redis, ioredis or
// iovalkey; this package depends on none of them), connected once, with no retries: a tool
// run by hand should fail at once and say why, not retry forever.

import {createRequire} from "node:module"
import {join} from "node:path"
import {fileURLToPath} from "node:url"
import {UsageError} from "../errors.js"

export const CLIENT_PACKAGES = ["redis", "ioredis", "iovalkey"] as const
export type ClientPackage = (typeof CLIENT_PACKAGES)[number]

export interface ConnectOptions {
  url: string
  cluster: boolean
  /** The package to use; undefined: the first of CLIENT_PACKAGES that is installed. */
  client: ClientPackage | undefined
}

/** A connected client (what the store is given) and how to close it. */
export interface CliConnection {
  client: object
  close(): Promise<void>
}

const CONNECT_TIMEOUT_MS = 5000

export async function connect(options: ConnectOptions): Promise<CliConnection> {
  const [name, module] = load(options.client)
  const connection =
    name === "redis"
      ? await connectNodeRedis(module as NodeRedisModule, options)
      : await connectIoredis(module as IoredisModule, options)
  let clusterNode: boolean
  try {
    clusterNode = !options.cluster && (await bounded(isClusterNode(connection.client)))
  } catch (error) {
    await connection.close()
    throw error
  }
  if (clusterNode) {
    await connection.close()
    throw new UsageError(
      "the URL is a node of a Redis Cluster: add --cluster, or one node's keys would be counted alone",
    )
  }
  return connection
}

/**
 * The app's client package: looked for from the current directory first (the app's own
 * node_modules, also when this command is installed globally), then beside this package.
 */
function load(wanted: ClientPackage | undefined): [ClientPackage, unknown] {
  const places = [join(process.cwd(), "package.json"), fileURLToPath(import.meta.url)]
  for (const name of wanted === undefined ? CLIENT_PACKAGES : [wanted]) {
    for (const place of places) {
      try {
        return [name, createRequire(place)(name)]
      } catch (error) {
        if ((error as {code?: unknown}).code !== "MODULE_NOT_FOUND") throw error
      }
    }
  }
  const where = `looked in ${process.cwd()} and beside redis-session-store`
  throw new UsageError(
    wanted === undefined
      ? `the command line needs the app's Redis client (${where}): npm install redis (or ioredis, or iovalkey), or run it from the app's folder`
      : `--client ${wanted}: the ${wanted} package is not installed (${where}): npm install ${wanted}`,
  )
}

/** INFO says cluster_enabled:1 on a cluster node. */
async function isClusterNode(client: object): Promise<boolean> {
  const info = await (client as {info(section: string): Promise<unknown>}).info("cluster")
  return /cluster_enabled:1/.test(String(info))
}

interface Closable {
  on(event: "error", listener: (error: unknown) => void): unknown
  connect(): Promise<unknown>
}

/**
 * Connects, keeping the last "error" event: it often says more than the rejection. The whole
 * connection (TCP, handshake, ready check) is bounded: a server that accepts connections and
 * never answers (stopped, or not Redis) fails it.
 */
async function connected<T extends Closable>(
  client: T,
  closeQuietly: () => Promise<void>,
): Promise<CliConnection> {
  let lastError: unknown
  client.on("error", (error) => {
    lastError = error
  })
  try {
    await bounded(client.connect())
  } catch (error) {
    await closeQuietly()
    throw lastError ?? error
  }
  return {client, close: closeQuietly}
}

/** `work`, or an error once CONNECT_TIMEOUT_MS passed without its answer. */
async function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS,
    )
  })
  try {
    return await Promise.race([work, silence])
  } finally {
    clearTimeout(timer)
  }
}

interface NodeRedisClient extends Closable {
  destroy?(): void
  disconnect?(): Promise<unknown>
}

interface NodeRedisModule {
  createClient(options: object): NodeRedisClient
  createCluster(options: object): NodeRedisClient
}

function connectNodeRedis(redis: NodeRedisModule, options: ConnectOptions) {
  const socket = {reconnectStrategy: false, connectTimeout: CONNECT_TIMEOUT_MS}
  let client: NodeRedisClient
  if (options.cluster) {
    // A root node's URL is that node's alone: the others are reached with `defaults`.
    const {credentials, tls} = fromUrl(options.url)
    client = redis.createCluster({
      rootNodes: [{url: options.url}],
      defaults: {...credentials, socket: {...socket, ...(tls ? {tls: true} : {})}},
    })
  } else {
    client = redis.createClient({url: options.url, socket})
  }
  return connected(client, async () => {
    try {
      // destroy (node-redis 5+) or disconnect (4): drop the connection, the work is done.
      if (client.destroy) client.destroy()
      else await client.disconnect?.()
    } catch {
      // Closing after a failure: the failure already said what went wrong.
    }
  })
}

interface IoredisClient extends Closable {
  disconnect(): void
}

interface IoredisModule {
  Redis: new (url: string, options: object) => IoredisClient
  Cluster: new (nodes: object[], options: object) => IoredisClient
}

function connectIoredis(ioredis: IoredisModule, options: ConnectOptions) {
  const once = {connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: () => null}
  let client: IoredisClient
  if (options.cluster) {
    // Nodes found through CLUSTER SLOTS get redisOptions, not the URL's credentials and TLS.
    const {host, port, credentials, tls} = fromUrl(options.url)
    client = new ioredis.Cluster([{host, port}], {
      lazyConnect: true,
      clusterRetryStrategy: () => null,
      redisOptions: {...once, ...credentials, ...(tls ? {tls: {}} : {})},
    })
  } else {
    client = new ioredis.Redis(options.url, {...once, lazyConnect: true})
  }
  return connected(client, async () => client.disconnect())
}

/** What a cluster's other nodes need from the one URL given: its user, password and TLS. */
function fromUrl(text: string) {
  const url = new URL(text)
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    credentials: {
      ...(url.username ? {username: decodeURIComponent(url.username)} : {}),
      ...(url.password ? {password: decodeURIComponent(url.password)} : {}),
    },
    tls: url.protocol === "rediss:",
  }
}
