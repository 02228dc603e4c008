// What the store talks to, built from its options: the app's client, a client built from
// settings, or several servers in redundant mode (`clients: [...]`), each entry a client or
// settings. Owned clients are closed by close(); the app's never are.

import {checkClientSettingNames} from "../store/option-names.js"
import type {RedisClientLike, RedisStoreOptions} from "../store/options.js"
import type {TombstonePolicy} from "../store/tombstone-policy.js"
import type {FailureObserver} from "./bounds.js"
import {Gate} from "./gate.js"
import {isSupportedClient, type LayerOptions, type SessionClient, toSessionClient} from "./index.js"
import {
  type ClientSettings,
  hasClientSettings,
  type OwnedClient,
  prepareOwnedClient,
} from "./owned-client.js"
import {RedundantClient, type ServerEvent, type ServerReport} from "./redundant.js"

export interface Backend {
  readonly redis: SessionClient
  /** Every client in use, the app's and the store's own. */
  readonly clients: readonly RedisClientLike[]
  close(): Promise<void>
}

interface BackendHooks {
  timeoutMs: number
  retryMs: number
  /** How long a server's first connection may take before it counts as down. */
  firstConnectionMs: number
  tombstones: TombstonePolicy
  touchAfter: number
  /** Hears of every failed command (for one client), or of operations every server failed. */
  observe: FailureObserver
  /** The store's probe, told of an owned client's errors. */
  clientError: () => void
  report: (event: ServerEvent, report: ServerReport) => void
  /** Shut while the store knows Redis cannot serve (see gate.ts). */
  gate: Gate
}

/**
 * Checks the client options (every `clients` entry included) and returns what builds the
 * backend: nothing is built or connected before everything was found valid.
 */
export function prepareBackend(options: RedisStoreOptions): (hooks: BackendHooks) => Backend {
  const clients = (options as {clients?: unknown}).clients
  if (clients !== undefined) return prepareRedundant(options, clients)
  if (options.client !== undefined && hasClientSettings(options)) {
    throw new TypeError("Give either options.client or settings to build one (url, host...)")
  }
  if (options.client !== undefined) {
    const client = options.client
    return (hooks) => ({
      redis: toSessionClient(client, layerOptions(hooks)),
      clients: [client],
      close: async () => {},
    })
  }
  if (!hasClientSettings(options)) {
    // Neither a client nor settings: let the client check say what is accepted.
    toSessionClient(options.client)
  }
  const build = prepareOwnedClient(options as ClientSettings)
  return (hooks) => {
    const owned = build(hooks.clientError)
    const client = owned.client as RedisClientLike
    return {
      redis: toSessionClient(client, layerOptions(hooks)),
      clients: [client],
      close: () => owned.close(),
    }
  }
}

function prepareRedundant(
  options: RedisStoreOptions,
  entries: unknown,
): (hooks: BackendHooks) => Backend {
  if (options.client !== undefined || hasClientSettings(options)) {
    throw new TypeError(
      "Give either options.clients or one client (client, url, host...), not both",
    )
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError("options.clients must be a non-empty array of clients or client settings")
  }
  if (options.owner !== undefined) {
    throw new TypeError("owner is not available with options.clients yet")
  }
  // Every entry is checked before any is built.
  const prepared = entries.map((entry: unknown, i) => {
    if (typeof entry === "object" && entry !== null && isSupportedClient(entry)) {
      // Adapted once here only to be checked (a bad keyPrefix throws) before any is built.
      toSessionClient(entry)
      return {client: entry as RedisClientLike, name: `clients[${i}]`}
    }
    if (typeof entry === "object" && entry !== null && hasClientSettings(entry)) {
      checkClientSettingNames(entry, `options.clients[${i}]`)
      const settings = entry as ClientSettings
      return {build: prepareOwnedClient(settings), name: `clients[${i}] (${where(settings)})`}
    }
    throw new TypeError(`options.clients[${i}] must be a client or client settings (url, host...)`)
  })
  return (hooks) => {
    if (!hooks.tombstones.on) {
      // Without tombstones a server that was away during a logout would bring the session back.
      throw new TypeError("options.clients needs tombstones: tombstoneSeconds must be above 0")
    }
    if (hooks.touchAfter > 0) {
      throw new TypeError("touchAfter is not available with options.clients yet")
    }
    const owned: OwnedClient[] = []
    const built = prepared.map((entry, i) => {
      if ("client" in entry) return {client: entry.client, name: entry.name}
      const own = entry.build((error) => redundant.serverFailed(i, error))
      owned.push(own)
      return {client: own.client as RedisClientLike, name: entry.name}
    })
    const redundant: RedundantClient = new RedundantClient(
      built.map(({client, name}, i) => {
        // Each server's own: one server down fails its commands at once, not the others'.
        const gate = new Gate()
        const redis = toSessionClient(client, {
          ...layerOptions(hooks),
          gate,
          observe: (error) => redundant.serverFailed(i, error),
        })
        return {name, redis, gate}
      }),
      {
        retryMs: hooks.retryMs,
        firstConnectionMs: hooks.firstConnectionMs,
        report: hooks.report,
      },
    )
    return {
      redis: redundant,
      clients: built.map(({client}) => client),
      close: async () => {
        redundant.stop()
        await Promise.all(owned.map((own) => own.close()))
      },
    }
  }
}

function layerOptions(hooks: BackendHooks): LayerOptions {
  return {
    timeoutMs: hooks.timeoutMs,
    observe: hooks.observe,
    tombstones: hooks.tombstones,
    gate: hooks.gate,
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
