// What the store talks to, built from its options: the app's client, a client built from
// settings, or several servers in redundant mode (`clients: [...]`), each entry a client or
// settings. Owned clients are closed by close(); the app's never are.

import {isSupportedClient, type SessionClient, toSessionClient} from "./clients/index.js"
import type {FailureObserver} from "./deadline.js"
import type {RedisClientLike, RedisStoreOptions} from "./options.js"
import {
  type ClientSettings,
  createOwnedClient,
  hasClientSettings,
  type OwnedClient,
} from "./owned-client.js"
import {RedundantClient, type ServerEvent, type ServerReport} from "./redundant.js"

export interface Backend {
  readonly redis: SessionClient
  /** Every client in use, the app's and the store's own. */
  readonly clients: readonly RedisClientLike[]
  /** Settles when the clients the store built have made (or failed) their first connection. */
  readonly connected: Promise<void> | undefined
  close(): Promise<void>
}

interface BackendHooks {
  timeoutMs: number
  retryMs: number
  tombstoneSeconds: number
  touchAfter: number
  /** Hears of every failed command (for one client), or of operations every server failed. */
  observe: FailureObserver
  /** The store's probe, told of an owned client's errors. */
  clientError: () => void
  report: (event: ServerEvent, report: ServerReport) => void
}

export function buildBackend(options: RedisStoreOptions, hooks: BackendHooks): Backend {
  const clients = (options as {clients?: unknown}).clients
  if (clients !== undefined) return redundantBackend(options, clients, hooks)
  if (options.client !== undefined && hasClientSettings(options)) {
    throw new TypeError("Give either options.client or settings to build one (url, host...)")
  }
  const owned =
    options.client === undefined && hasClientSettings(options)
      ? createOwnedClient(options as ClientSettings, hooks.clientError)
      : undefined
  const client = (options.client ?? owned?.client) as RedisClientLike
  return {
    redis: toSessionClient(client, hooks.timeoutMs, hooks.observe),
    clients: [client],
    connected: owned?.connected,
    close: async () => {
      await owned?.close()
    },
  }
}

function redundantBackend(
  options: RedisStoreOptions,
  entries: unknown,
  hooks: BackendHooks,
): Backend {
  if (options.client !== undefined || hasClientSettings(options)) {
    throw new TypeError(
      "Give either options.clients or one client (client, url, host...), not both",
    )
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError("options.clients must be a non-empty array of clients or client settings")
  }
  if (hooks.tombstoneSeconds === 0) {
    // Without tombstones a server that was away during a logout would bring the session back.
    throw new TypeError("options.clients needs tombstones: tombstoneSeconds must be above 0")
  }
  if (hooks.touchAfter > 0) {
    throw new TypeError("touchAfter is not available with options.clients yet")
  }
  if (options.owner !== undefined) {
    throw new TypeError("owner is not available with options.clients yet")
  }
  const owned: OwnedClient[] = []
  const built = entries.map((entry: unknown, i) => {
    if (typeof entry === "object" && entry !== null && isSupportedClient(entry)) {
      return {client: entry as RedisClientLike, name: `clients[${i}]`, connected: undefined}
    }
    if (typeof entry === "object" && entry !== null && hasClientSettings(entry)) {
      const settings = entry as ClientSettings
      const own = createOwnedClient(settings, (error) => redundant.serverFailed(i, error))
      owned.push(own)
      const name = `clients[${i}] (${where(settings)})`
      return {client: own.client as RedisClientLike, name, connected: own.connected}
    }
    throw new TypeError(`options.clients[${i}] must be a client or client settings (url, host...)`)
  })
  const redundant: RedundantClient = new RedundantClient(
    built.map(({client, name, connected}, i) => ({
      name,
      connected,
      redis: toSessionClient(client, hooks.timeoutMs, (error) => redundant.serverFailed(i, error)),
    })),
    {tombstoneSeconds: hooks.tombstoneSeconds, retryMs: hooks.retryMs, report: hooks.report},
  )
  return {
    redis: redundant,
    clients: built.map(({client}) => client),
    connected:
      owned.length > 0 ? Promise.all(owned.map((own) => own.connected)).then(() => {}) : undefined,
    close: async () => {
      redundant.stop()
      await Promise.all(owned.map((own) => own.close()))
    },
  }
}

/** Where a settings-built client connects, for event names: never the password. */
function where(settings: ClientSettings): string {
  const {socket} = settings
  if (typeof socket === "string") return socket
  if (typeof socket === "object" && socket !== null) {
    return typeof socket.path === "string"
      ? socket.path
      : `${socket.host ?? "localhost"}:${socket.port ?? 6379}`
  }
  if (settings.url !== undefined) {
    const url = new URL(settings.url)
    return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`
  }
  return `${settings.host ?? "localhost"}:${settings.port ?? 6379}`
}
