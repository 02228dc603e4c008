// A client the store builds itself from settings, as connect-redis 3 did (`url`, or `host`,
// `port`, `socket`, `db`, `pass`, `unref`): a node-redis client from the app's own `redis`
// package (4, 5 or 6), connected at once and closed by `store.close()`.
//
// The password never appears in an error: settings are described by their type, never
// echoed, and node-redis's own errors do not carry it.

import {createRequire} from "node:module"
import {describeValue} from "../store/keys.js"

/** connect-redis 3's settings for a client the store creates and owns. */
export interface ClientSettings {
  /**
   * A `redis://` or `rediss://` URL (it may carry the user, password and database).
   * @example new RedisStore({url: process.env.REDIS_URL})
   */
  url?: string | undefined
  /** @default "localhost" (with `port`) */
  host?: string | undefined
  /** @default 6379 */
  port?: number | undefined
  /**
   * A Unix socket path, instead of host and port; or node-redis's own `socket` options
   * (`{host, port, tls...}`), and then every setting is given to `createClient` as it is
   * (`password`, `database`, `username`...).
   */
  socket?: string | Record<string, unknown> | undefined
  /** The database number to SELECT. @default 0 */
  db?: number | undefined
  /** The password (AUTH). */
  pass?: string | undefined
  /** Let the process exit while the connection is open (node-redis `unref()`). @default false */
  unref?: boolean | undefined
}

export const CLIENT_SETTING_NAMES = [
  "url",
  "host",
  "port",
  "socket",
  "db",
  "pass",
  "unref",
] as const

/** The node-redis client methods the store calls on a client it owns. */
interface OwnedNodeRedis {
  connect(): Promise<unknown>
  on(event: "error", listener: (error: unknown) => void): unknown
  once(event: "connect", listener: () => void): unknown
  unref(): void
  isOpen: boolean
  isReady: boolean
  /** node-redis 5 and 6; 4 has quit(). */
  close?(): Promise<unknown>
  quit?(): Promise<unknown>
  /** node-redis 5 and 6; 4 has disconnect(). */
  destroy?(): void
  disconnect?(): Promise<unknown>
}

export interface OwnedClient {
  readonly client: object
  /** Settles when the first connection is made or has failed. */
  readonly connected: Promise<void>
  close(): Promise<void>
}

export function hasClientSettings(options: object): boolean {
  return CLIENT_SETTING_NAMES.some(
    (name) => (options as Record<string, unknown>)[name] !== undefined,
  )
}

/**
 * Checks the settings now and returns what builds the client later (connecting it in the
 * background): every option of a store is checked before any client is built, so that a
 * construction that throws leaves no connection open.
 */
export function prepareOwnedClient(
  settings: ClientSettings,
): (onError: (error: unknown) => void) => OwnedClient {
  const options = clientOptions(settings)
  const unref = settings.unref ?? false
  if (typeof unref !== "boolean") {
    throw new TypeError(`options.unref must be a boolean; got ${describeValue(unref)}`)
  }
  const {createClient} = loadRedis()
  return (onError) => {
    const client = createClient(options)
    // Without a listener node-redis would crash the process on the first connection error.
    client.on("error", onError)
    if (unref) client.unref()
    const connected = client.connect().then(
      () => {},
      (error: unknown) => onError(error),
    )
    return {client, connected, close: () => closeOwned(client, connected)}
  }
}

function loadRedis(): {createClient(options: object): OwnedNodeRedis} {
  try {
    return createRequire(import.meta.url)("redis")
  } catch {
    throw new TypeError(
      "Building the client from settings (url, host, port...) needs the redis package: npm install redis. Or pass a client of your own.",
    )
  }
}

function clientOptions(settings: ClientSettings): object {
  const {url, host, port, socket, db, pass} = settings
  if (typeof socket === "object" && socket !== null) {
    // node-redis's own createClient options: given as they are, but for ours.
    const {unref: _unref, ...createOptions} = settings
    return createOptions
  }
  const database = db === undefined ? {} : {database: checkDb(db)}
  const password = pass === undefined ? {} : {password: checkString("pass", pass)}
  if (url !== undefined) {
    if (host !== undefined || port !== undefined || socket !== undefined) {
      throw new TypeError("Give either options.url or options.host/port/socket, not both")
    }
    return {url: checkUrl(url), ...database, ...password}
  }
  if (socket !== undefined) {
    if (host !== undefined || port !== undefined) {
      throw new TypeError("Give either options.socket or options.host/port, not both")
    }
    return {socket: {path: checkString("socket", socket)}, ...database, ...password}
  }
  const where = {
    host: host === undefined ? "localhost" : checkString("host", host),
    port: port === undefined ? 6379 : checkPort(port),
  }
  return {socket: where, ...database, ...password}
}

function checkUrl(url: unknown): string {
  // Never echo the URL: it may hold the password.
  const parsed = typeof url === "string" && URL.canParse(url) ? new URL(url) : undefined
  if (parsed?.protocol !== "redis:" && parsed?.protocol !== "rediss:") {
    throw new TypeError(
      `options.url must be a redis:// or rediss:// URL; got ${describeValue(url)} that is not one`,
    )
  }
  return url as string
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`options.${name} must be a non-empty string; got ${describeValue(value)}`)
  }
  return value
}

function checkPort(port: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TypeError(
      `options.port must be an integer from 1 to 65535; got ${describeValue(port)}`,
    )
  }
  return port
}

function checkDb(db: unknown): number {
  if (typeof db !== "number" || !Number.isInteger(db) || db < 0) {
    throw new TypeError(`options.db must be a database number, 0 or more; got ${describeValue(db)}`)
  }
  return db
}

async function closeOwned(client: OwnedNodeRedis, connected: Promise<void>): Promise<void> {
  if (!client.isOpen) return
  // Connected: a graceful close, which answers pending commands first. Not connected (still
  // connecting, or reconnecting to a server that is away): drop the socket, do not wait.
  if (client.isReady) {
    try {
      await (client.close ?? client.quit)?.call(client)
      return
    } catch {
      // Closed under us meanwhile: drop what is left below.
    }
  }
  drop(client)
  // A destroy() early in the first connection comes before its socket exists: the socket is
  // made after it, and would wait for a server that may never answer, keeping the process
  // alive. Drop it as soon as it is there, and once the attempt is over.
  const again = () => drop(client, true)
  client.once("connect", again)
  void connected.then(again)
}

function drop(client: OwnedNodeRedis, evenIfClosed = false): void {
  if (!client.isOpen && !evenIfClosed) return
  try {
    if (client.destroy) client.destroy()
    else void client.disconnect?.().catch(() => {})
  } catch {
    // Already closed: nothing left to drop.
  }
}
