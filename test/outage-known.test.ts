// Once the store knows Redis cannot serve, it stops waiting: between "disconnect" and
// "connect" every call is refused at once by the store itself (ENOTCONN, "the store said
// disconnect"), never sent and never waiting for the time bound, under any framework; with
// whileUnavailable "no-session" a read is "no session" instead, so @fastify/session serves
// the request as anonymous. A server loading its dataset is an outage, typed as one; an app
// closing its own client is not.
//
// No duration is asserted: a call that waited would fail with ETIMEDOUT (the bound's error)
// where a refused one fails with the gate's ENOTCONN, and the tests tell them apart by that.

import type {FastifyInstance} from "fastify"
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from "vitest"
import {RedisStore, RedisUnavailableError} from "../src/index.js"
import {Browser} from "./support/browser.js"
import {CLIENT_KINDS, clientIsReady, connectClient, type TestClient} from "./support/clients.js"
import {startFastifyApp} from "./support/fastify-app.js"
import {RestartableServer} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 300
const WAIT = {timeout: 15_000, interval: 20}
const KINDS = CLIENT_KINDS.filter((kind) =>
  ["node-redis 6 client", "ioredis 6 client"].includes(kind.name),
)

/** The error of a call the store refused without sending it, because of a known outage. */
function expectRefused(error: unknown) {
  expect(error).toBeInstanceOf(RedisUnavailableError)
  expect((error as RedisUnavailableError).code).toBe("ENOTCONN")
  expect((error as Error).message).toMatch(/the store said disconnect; the command was not sent$/)
}

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => error,
  )

describe.each(KINDS)("a known outage with a $name", (kind) => {
  let server: RestartableServer
  let connection: TestClient

  beforeAll(async () => {
    server = await RestartableServer.start()
    connection = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
  })
  afterEach(async () => {
    await server.serveAgain()
    await vi.waitFor(async () => expect(await clientIsReady(connection.client)).toBe(true), WAIT)
  })
  afterAll(async () => {
    await connection?.close()
    await server?.stop()
  })

  function newStore(settings: {whileUnavailable?: "reject" | "no-session"} = {}) {
    const store = new RedisStore(connection.client, {
      prefix: uniquePrefix("known"),
      timeout: TIMEOUT_MS,
      ...settings,
    })
    const events: string[] = []
    store.on("disconnect", () => events.push("disconnect"))
    store.on("connect", () => events.push("connect"))
    return {store, events}
  }

  it.each([
    ["killed", (s: RestartableServer) => s.kill()],
    ["stalled (SIGSTOP)", async (s: RestartableServer) => s.pause()],
  ])(
    "server %s: after disconnect, 20 gets in a row are each refused at once; back after connect",
    async (_, takeAway) => {
      const {store, events} = newStore()
      const session = makeSession()
      await store.set("kept", session)
      await takeAway(server)
      // The first calls find the outage (within the bound); the store then says so.
      await vi.waitFor(async () => {
        await failure(store.get("kept"))
        expect(events).toEqual(["disconnect"])
      }, WAIT)
      for (let i = 0; i < 20; i++) expectRefused(await failure(store.get("kept")))
      expectRefused(await failure(store.set("other", session)))
      expectRefused(await failure(store.touch("kept", session)))
      expectRefused(await failure(store.destroy("other")))
      expectRefused(await failure(store.length()))
      expectRefused(await failure(store.ids()))
      server.resume()
      if ((await server.command("PING").catch(() => null)) !== "PONG") await server.restart()
      await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
      expect(await store.get("kept")).toEqual(asStored(session))
    },
  )

  it('whileUnavailable "no-session": reads are a session holding nothing, writes are refused', async () => {
    const {store, events} = newStore({whileUnavailable: "no-session"})
    expect(store.whileUnavailable).toBe("no-session")
    const session = makeSession()
    await store.set("kept", session)
    server.pause()
    await vi.waitFor(async () => {
      await failure(store.get("kept"))
      expect(events).toEqual(["disconnect"])
    }, WAIT)
    for (let i = 0; i < 20; i++) {
      const standIn = await store.get("kept")
      expect(Object.keys(standIn ?? {})).toEqual(["cookie"])
    }
    // Saved back as it came (a rolling save): nothing to save. With data in it: refused.
    const standIn = await store.get("kept")
    if (standIn === null) throw new Error("no stand-in")
    await store.set("kept", standIn)
    expectRefused(await failure(store.set("kept", session)))
    server.resume()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    expect(await store.get("kept")).toEqual(asStored(session))
  })

  const closings = kind.family === "node-redis" ? ["quit", "close"] : ["quit"]
  it.each(closings)(
    "the app closes its own client (%s()): no disconnect, no error; calls say it was closed",
    async (method) => {
      const own = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
      const store = new RedisStore(own.client, {
        prefix: uniquePrefix("closed"),
        timeout: TIMEOUT_MS,
      })
      const heard: string[] = []
      for (const event of ["disconnect", "connect", "error"]) {
        store.on(event as "disconnect", () => heard.push(event))
      }
      await store.set("a", makeSession())
      await (own.client as unknown as Record<string, () => Promise<unknown>>)[method]?.()
      await vi.waitFor(async () => expect(await clientIsReady(own.client)).toBe(false), WAIT)
      const error = await failure(store.get("a"))
      expect(error).toBeInstanceOf(RedisUnavailableError)
      expect((error as RedisUnavailableError).code).toBe("ENOTCONN")
      expect((error as Error).message).toMatch(/closed/)
      // The store decides within a turn of the client's own events ("close", then "end").
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve))
      expect(heard).toEqual([])
      expect(((await failure(store.set("a", makeSession()))) as Error).message).toMatch(/closed/)
    },
  )
})

describe('@fastify/session with whileUnavailable "no-session"', () => {
  describe.each(KINDS)("$name, Redis stalled", (kind) => {
    let server: RestartableServer
    let connection: TestClient
    let app: FastifyInstance
    let base: string
    let events: string[]

    beforeAll(async () => {
      server = await RestartableServer.start()
      connection = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
      const store = new RedisStore(connection.client, {
        prefix: uniquePrefix("fastify-down"),
        timeout: TIMEOUT_MS,
        whileUnavailable: "no-session",
      })
      events = []
      store.on("disconnect", () => events.push("disconnect"))
      store.on("connect", () => events.push("connect"))
      ;({app, base} = await startFastifyApp(store))
    })
    afterAll(async () => {
      server?.resume()
      await app?.close()
      await connection?.close()
      await server?.stop()
    })

    it("reads answer as anonymous, writes answer an error, and the same cookie is back after", async () => {
      const browser = new Browser(base, "fastify")
      await browser.request("POST", "/login")
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      server.pause()
      // The requests that find the outage wait up to the bound and answer an error.
      await vi.waitFor(async () => {
        await browser.request("GET", "/me")
        expect(events).toEqual(["disconnect"])
      }, WAIT)
      const cookie = browser.cookie
      const read = await browser.request("GET", "/me")
      expect(read.status).toBe(200)
      expect(read.body.user).toBeNull()
      const write = await browser.request("POST", "/count")
      expect(write.status).toBeGreaterThanOrEqual(500)
      // The browser keeps its cookie: @fastify/session was given the same id back.
      expect(browser.cookie).toBe(cookie)
      server.resume()
      await vi.waitFor(async () => {
        expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      }, WAIT)
    })
  })
})

describe("a server loading its dataset (LOADING)", () => {
  let server: RestartableServer

  beforeAll(async () => {
    server = await RestartableServer.start()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("a restart on a dataset that loads slowly: RedisUnavailableError, disconnect, connect, the session there after; a reload in place: ELOADING", async () => {
    const kind = KINDS[0]
    if (kind === undefined) throw new Error("no client kind")
    const connection = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
    const store = new RedisStore(connection.client, {prefix: uniquePrefix("loading")})
    const events: string[] = []
    store.on("disconnect", () => events.push("disconnect"))
    store.on("connect", () => events.push("connect"))
    try {
      const session = makeSession()
      await store.set("before", session)
      // Enough keys that loading them one at a time (key-load-delay) takes seconds, written
      // as the RDB preamble of the append-only file, which is what a restart loads.
      await server.command(
        "EVAL",
        "for i = 1, 20000 do redis.call('SET', 'filler:' .. i, 'x') end",
        "0",
      )
      await server.command("BGREWRITEAOF")
      await vi.waitFor(async () => {
        const info = String(await server.command("INFO", "persistence"))
        expect(info).toMatch(/aof_rewrite_in_progress:0/)
        expect(info).toMatch(/aof_rewrite_scheduled:0/)
      }, WAIT)
      await server.kill()
      await server.restart({loading: true})
      // The client cannot finish its handshake while the server loads: the store knows.
      expect(await failure(store.get("before"))).toBeInstanceOf(RedisUnavailableError)
      await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
      const slowly = {...WAIT, timeout: 60_000}
      await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), slowly)
      expect(await store.get("before")).toEqual(asStored(session))

      // The same dataset loaded again in place (DEBUG RELOAD): the client stays connected,
      // and the server's own reply reaches the caller, typed.
      void server.command("DEBUG", "RELOAD")
      await vi.waitFor(async () => {
        expect(String(await server.command("PING"))).toMatch(/LOADING/)
      }, WAIT)
      const loading = await failure(store.get("before"))
      expect(loading).toBeInstanceOf(RedisUnavailableError)
      expect((loading as RedisUnavailableError).code).toBe("ELOADING")
      expect(((loading as Error).cause as Error).message).toMatch(/^LOADING/)
      const again = ["disconnect", "connect", "disconnect", "connect"]
      await vi.waitFor(() => expect(events).toEqual(again), slowly)
      expect(await store.get("before")).toEqual(asStored(session))
    } finally {
      await connection.close()
    }
  }, 90_000)
})
