// The first minute, wired up the way apps do it: node-redis's connect() not awaited (as in
// connect-redis's README), ioredis and iovalkey connecting by themselves, a store built
// before its client is ready. The first requests must work, nothing may be announced while
// the first connection is made, and a first connection that never comes is an outage within
// the bound, after which no write that was reported failed may land.

import type {AddressInfo} from "node:net"
import express from "express"
import session from "express-session"
import {afterAll, beforeAll, describe, expect, it, vi} from "vitest"
import {type RedisClientLike, RedisStore, RedisUnavailableError} from "../src/index.js"
import {Browser} from "./support/browser.js"
import {
  CLIENT_KINDS,
  type ClientKind,
  clientIsReady,
  closeClient,
  createLazy,
  createUnconnected,
  type Servers,
} from "./support/clients.js"
import {startFastifyApp} from "./support/fastify-app.js"
import {RestartableServer} from "./support/outages.js"
import {RawRedis} from "./support/raw-redis.js"
import {
  freePort,
  type RedisCluster,
  type RedisSentinelSetup,
  type RedisServer,
  startCluster,
  startRedisServer,
  startSentinel,
} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 500
const WAIT = {timeout: 15_000, interval: 20}

/**
 * A client of `kind` that starts connecting now, as apps start them, without waiting. A
 * GLIDE client cannot exist before it connects unless it is lazy: it then connects on the
 * store's first command.
 */
async function startConnecting(kind: ClientKind, servers: Servers): Promise<RedisClientLike> {
  if (kind.family === "glide") return createLazy(kind, servers)
  if (kind.family !== "node-redis") {
    // ioredis and iovalkey connect by themselves unless told to wait (lazyConnect).
    const client = createUnconnected(kind, servers, {ioredis: {lazyConnect: false}})
    ;(client as unknown as {on(event: "error", listener: () => void): unknown}).on(
      "error",
      () => {},
    )
    return client
  }
  const client = createUnconnected(kind, servers) as unknown as {
    on(event: "error", listener: () => void): unknown
    connect(): Promise<unknown>
  }
  client.on("error", () => {})
  // connect-redis's README: client.connect().catch(console.error), not awaited.
  client.connect().catch(() => {})
  return client as unknown as RedisClientLike
}

function recordEvents(store: RedisStore): string[] {
  const events: string[] = []
  store.on("connect", () => events.push("connect"))
  store.on("disconnect", () => events.push("disconnect"))
  return events
}

/** The very first request gets a working session, and the next one sees what it saved. */
async function expectFirstRequestsWork(browser: Browser): Promise<void> {
  const first = await browser.request("POST", "/count")
  expect(first.status).toBe(200)
  expect(first.body.views).toBe(1)
  expect((await browser.request("POST", "/count")).body.views).toBe(2)
}

async function expressApp(store: RedisStore) {
  const app = express()
  app.use(
    session({store, name: "sid", secret: "a test secret", resave: false, saveUninitialized: false}),
  )
  app.post("/count", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.json({views: req.session.views})
  })
  const http = app.listen(0, "127.0.0.1")
  await new Promise((resolve) => http.once("listening", resolve))
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return {base, close: () => new Promise((resolve) => http.close(resolve))}
}

describe("the first connection", () => {
  let standalone: RedisServer
  let cluster: RedisCluster
  let sentinel: RedisSentinelSetup
  let servers: Servers

  beforeAll(async () => {
    ;[standalone, cluster, sentinel] = await Promise.all([
      startRedisServer(),
      startCluster(3),
      startSentinel(),
    ])
    servers = {standalone, cluster, sentinel}
  })
  afterAll(async () => {
    await Promise.all([standalone?.stop(), cluster?.stop(), sentinel?.stop()])
  })

  const mastersOf = (kind: ClientKind): RedisServer[] =>
    kind.topology === "cluster"
      ? cluster.nodes
      : kind.topology === "sentinel"
        ? [sentinel.master]
        : [standalone]

  describe.each(CLIENT_KINDS)("$name", (kind) => {
    it("answers the very first request through express-session with a working session", async () => {
      const client = await startConnecting(kind, servers)
      const store = new RedisStore(client, {prefix: uniquePrefix("first"), timeout: TIMEOUT_MS})
      const events = recordEvents(store)
      const app = await expressApp(store)
      try {
        await expectFirstRequestsWork(new Browser(app.base))
        // Nothing was announced: express-session never skipped the store.
        expect(events).toEqual([])
      } finally {
        await app.close()
        await closeClient(client)
      }
    })

    it("a write made before the client is ready waits for it and lands", async () => {
      const client = await startConnecting(kind, servers)
      const prefix = uniquePrefix("early")
      const store = new RedisStore(client, {prefix, timeout: TIMEOUT_MS})
      const events = recordEvents(store)
      try {
        // A lazy GLIDE client shows no state (asking, with a PING, would connect it).
        if (kind.family !== "glide") expect(await clientIsReady(client)).toBe(false)
        const s = makeSession()
        await Promise.all([store.set("a", s), store.set("b", s), store.get("c")])
        const raw = new RawRedis(mastersOf(kind))
        expect(await raw.exists(`${prefix}a`)).toBe(true)
        expect(await raw.exists(`${prefix}b`)).toBe(true)
        expect(await store.get("a")).not.toBeNull()
        expect(events).toEqual([])
      } finally {
        await closeClient(client)
      }
    })

    it("a first connection that never comes: RedisUnavailableError and disconnect within the bound", async () => {
      const port = await freePort()
      const nowhere = {
        standalone: {url: `redis://127.0.0.1:${port}`},
        cluster: {rootNodes: [{url: `redis://127.0.0.1:${port}`}]},
        sentinel: {masterName: "mymaster", sentinel: {host: "127.0.0.1", port}},
      } as unknown as Servers
      const client = await startConnecting(kind, nowhere)
      const store = new RedisStore(client, {prefix: uniquePrefix("never"), timeout: TIMEOUT_MS})
      const events = recordEvents(store)
      try {
        const failed = await store.set("a", makeSession()).then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(failed).toBeInstanceOf(RedisUnavailableError)
        await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
      } finally {
        await closeClient(client)
      }
    })
  })

  // Not GLIDE: its only client that exists before connecting is a lazyConnect one, whose
  // first command waits inside GLIDE for the first connection and is sent once it is made,
  // like ioredis's lazyConnect (docs/clients.md says so).
  const connectingByThemselves = CLIENT_KINDS.filter(
    (kind) => kind.topology === "standalone" && kind.family !== "glide",
  )
  describe.each(connectingByThemselves)("$name, server started late", (kind) => {
    it("a write reported failed before the first connection never lands once it is made", async () => {
      const server = await RestartableServer.start()
      await server.kill()
      const client = await startConnecting(kind, {standalone: {url: server.url} as RedisServer})
      const prefix = uniquePrefix("late")
      const store = new RedisStore(client, {prefix, timeout: TIMEOUT_MS})
      const events = recordEvents(store)
      try {
        await expect(store.set("late", makeSession())).rejects.toBeInstanceOf(RedisUnavailableError)
        await expect(store.destroy("late-destroy")).rejects.toBeInstanceOf(RedisUnavailableError)
        await server.restart()
        await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
        expect(await server.command("EXISTS", `${prefix}late`)).toBe(0)
        expect(await server.command("EXISTS", `${prefix}late-destroy`)).toBe(0)
        await store.set("after", makeSession())
        expect(await server.command("EXISTS", `${prefix}after`)).toBe(1)
      } finally {
        await closeClient(client)
        await server.stop()
      }
    })
  })

  it.each(["node-redis 6 client", "ioredis 6 client", "iovalkey client"])(
    "@fastify/session with a %s: the first request works",
    async (name) => {
      const kind = CLIENT_KINDS.find((candidate) => candidate.name === name) as ClientKind
      const client = await startConnecting(kind, servers)
      const store = new RedisStore(client, {prefix: uniquePrefix("fy"), timeout: TIMEOUT_MS})
      const events = recordEvents(store)
      const {app, base} = await startFastifyApp(store)
      try {
        await expectFirstRequestsWork(new Browser(base, "fastify"))
        expect(events).toEqual([])
      } finally {
        await app.close()
        await closeClient(client)
      }
    },
  )

  it("a store built from settings: the first write waits for the connection and lands", async () => {
    const prefix = uniquePrefix("owned")
    const store = new RedisStore({url: standalone.url, prefix, timeout: TIMEOUT_MS})
    const events = recordEvents(store)
    try {
      await store.set("a", makeSession())
      expect(await standalone.command("EXISTS", `${prefix}a`)).toBe(1)
      expect(events).toEqual([])
    } finally {
      await store.close()
    }
  })

  it("redundant servers from settings: the first write lands on each", async () => {
    const other = await startRedisServer()
    const prefix = uniquePrefix("both")
    const store = new RedisStore({
      clients: [{url: standalone.url}, {url: other.url}],
      prefix,
      timeout: TIMEOUT_MS,
    })
    const reports: string[] = []
    for (const event of ["serverDown", "serverUp", "disconnect"]) {
      store.on(event, () => reports.push(event))
    }
    try {
      await store.set("a", makeSession())
      await vi.waitFor(async () => {
        expect(await standalone.command("EXISTS", `${prefix}a`)).toBe(1)
        expect(await other.command("EXISTS", `${prefix}a`)).toBe(1)
      }, WAIT)
      expect(reports).toEqual([])
    } finally {
      await store.close()
      await other.stop()
    }
  })
})
