// Outages on a real server that the tests kill, stall and restart: every method settles
// within the time bound, the store says "disconnect" and "connect", it recovers by itself,
// and a write reported as failed does not land later.
//
// Durations are compared with a deliberately loose ceiling (timeout + 1.5 s): the point is
// "bounded" against "hangs for 5 s or forever", not speed; the benchmark measures speed.

import type {SessionData} from "express-session"
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from "vitest"
import {RedisStore, RedisUnavailableError} from "../src/index.js"
import {
  clientIsReady,
  closeClient,
  connectClient,
  createLazy,
  createUnconnected,
  kindsFor,
  type TestClient,
} from "./support/clients.js"
import {RestartableServer, timed} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 300
const CEILING_MS = TIMEOUT_MS + 1_500
const WAIT = {timeout: 15_000, interval: 20}

function expectUnavailable(outcome: {ms: number; error?: unknown}, code: string) {
  expect(outcome.error).toBeInstanceOf(RedisUnavailableError)
  expect((outcome.error as RedisUnavailableError).code).toBe(code)
  expect(outcome.ms).toBeLessThan(CEILING_MS)
}

describe.each(kindsFor("standalone"))("outages with a $name", (kind) => {
  let server: RestartableServer
  let connection: TestClient

  beforeAll(async () => {
    server = await RestartableServer.start()
    const servers = {standalone: {url: server.url} as RedisServer}
    connection = await connectClient(kind, servers)
  })
  afterEach(async () => {
    // Each test leaves the server running and the client connected again.
    await server.serveAgain()
    await vi.waitFor(async () => expect(await clientIsReady(connection.client)).toBe(true), WAIT)
  })
  afterAll(async () => {
    await connection?.close()
    await server?.stop()
  })

  function newStore(settings: {connectionEvents?: boolean} = {}) {
    const prefix = uniquePrefix("outage")
    const store = new RedisStore(connection.client, {prefix, timeout: TIMEOUT_MS, ...settings})
    const events: string[] = []
    store.on("disconnect", () => events.push("disconnect"))
    store.on("connect", () => events.push("connect"))
    return {store, prefix, events}
  }

  it("a stalled server: the first call settles at the bound and the store says disconnect; the next fail at once; then connect", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    server.pause()
    expectUnavailable(await timed(store.get("kept")), "ETIMEDOUT")
    expect(events).toEqual(["disconnect"])
    // Known now: refused without waiting (outage-known.test.ts tells the two apart).
    expectUnavailable(await timed(store.set("other", session)), "ENOTCONN")
    expectUnavailable(await timed(store.touch("kept", session)), "ENOTCONN")
    expectUnavailable(await timed(store.destroy("other")), "ENOTCONN")
    expectUnavailable(await timed(store.length()), "ENOTCONN")
    expectUnavailable(await timed(store.clear()), "ENOTCONN")
    server.resume()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    expect(await store.get("kept")).toEqual(asStored(session))
  })

  it("a stalled server, callbacks as express-session passes them: each called once, with the bound's error", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    const heard: Record<string, unknown[]> = {get: [], set: [], touch: []}
    const hear = (method: string) => (error: unknown) => heard[method]?.push(error)
    server.pause()
    const returned = [
      store.get("kept", hear("get")),
      store.set("kept", session, hear("set")),
      store.touch("kept", session, hear("touch")),
    ]
    // The promises only resolve, once each callback has had the error.
    expect(await Promise.all(returned)).toEqual([undefined, undefined, undefined])
    for (const errors of Object.values(heard)) {
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(RedisUnavailableError)
      // Sent together, before the outage was known: each waited for the bound.
      expect((errors[0] as RedisUnavailableError).code).toBe("ETIMEDOUT")
    }
    server.resume()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    // The stalled commands' replies came in after the bound: no callback heard them.
    expect(await server.command("PING")).toBe("PONG")
    for (const errors of Object.values(heard)) expect(errors).toHaveLength(1)
  })

  it("a killed server: bounded errors, disconnect; after a restart connect, and sessions kept", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    await server.kill()
    await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
    const outcome = await timed(store.get("kept"))
    expect(outcome.error).toBeInstanceOf(RedisUnavailableError)
    expect(outcome.ms).toBeLessThan(CEILING_MS)
    await server.restart()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    expect(await store.get("kept")).toEqual(asStored(session))
    await store.set("after", session)
    expect(await store.get("after")).toEqual(asStored(session))
  })

  it("a write that failed while Redis was down never lands after it comes back", async () => {
    const {store, prefix, events} = newStore()
    await server.kill()
    await vi.waitFor(async () => expect(await clientIsReady(connection.client)).toBe(false), WAIT)
    // Once the store knows (it watches the client), nothing is handed to the client at all;
    // before that, node-redis 5/6 would queue it offline and withdraw it at the bound.
    await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
    expectUnavailable(await timed(store.set("late", makeSession())), "ENOTCONN")
    expectUnavailable(await timed(store.destroy("late-destroy")), "ENOTCONN")
    await server.restart()
    await vi.waitFor(() => expect(events.at(-1)).toBe("connect"), WAIT)
    expect(await server.command("EXISTS", `${prefix}late`)).toBe(0)
    expect(await server.command("EXISTS", `${prefix}late-destroy`)).toBe(0)
  })

  it("the window: a write already sent to a stalled server still lands when it resumes", async () => {
    const {store, prefix, events} = newStore()
    server.pause()
    expectUnavailable(await timed(store.set("sent", makeSession())), "ETIMEDOUT")
    server.resume()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    // It was on the wire before the bound fired: nothing can take it back.
    expect(await server.command("TYPE", `${prefix}sent`)).toBe("string")
  })

  it("connectionEvents: false emits nothing and reports errors", async () => {
    const {store, events} = newStore({connectionEvents: false})
    server.pause()
    expectUnavailable(await timed(store.get("a")), "ETIMEDOUT")
    // Known, though not announced: the next call fails at once.
    expectUnavailable(await timed(store.get("a")), "ENOTCONN")
    server.resume()
    await vi.waitFor(async () => expect(await store.get("a")).toBeNull(), WAIT)
    expect(events).toEqual([])
  })

  // A client that is not connected yet: node-redis must be connected by the app; an ioredis
  // lazyConnect client connects on its first command, whoever sends it.
  if (kind.family === "node-redis") {
    it("a client never connected: ENOTCONN within the bound, disconnect; connect once it is", async () => {
      const client = createUnconnected(kind, {standalone: {url: server.url} as RedisServer})
      const store = new RedisStore(client, {prefix: uniquePrefix("early"), timeout: TIMEOUT_MS})
      const events: string[] = []
      store.on("disconnect", () => events.push("disconnect"))
      store.on("connect", () => events.push("connect"))
      expectUnavailable(await timed(store.get("a")), "ENOTCONN")
      await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
      const connectable = client as unknown as {
        connect(): Promise<unknown>
        on(event: "error", listener: () => void): unknown
      }
      connectable.on("error", () => {})
      await connectable.connect()
      await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
      expect(await store.get("a")).toBeNull()
      await closeClient(client)
      expectUnavailable(await timed(store.get("a")), "ENOTCONN")
      expect((await timed(store.set("a", makeSession() as SessionData))).error).toBeInstanceOf(
        RedisUnavailableError,
      )
    })
  } else if (kind.family !== "glide") {
    it("a lazyConnect client connects on the store's first command, as on any; closed: ENOTCONN at once", async () => {
      const client = createUnconnected(kind, {standalone: {url: server.url} as RedisServer})
      const errors: unknown[] = []
      ;(client as unknown as {on(event: "error", listener: (e: unknown) => void): unknown}).on(
        "error",
        (error) => errors.push(error),
      )
      const store = new RedisStore(client, {prefix: uniquePrefix("lazy"), timeout: TIMEOUT_MS})
      const events: string[] = []
      store.on("disconnect", () => events.push("disconnect"))
      store.on("connect", () => events.push("connect"))
      expect(await clientIsReady(client)).toBe(false)
      await store.set("a", makeSession())
      expect(await store.get("a")).not.toBeNull()
      expect(await clientIsReady(client)).toBe(true)
      await closeClient(client)
      expectUnavailable(await timed(store.get("a")), "ENOTCONN")
      // Closed by the app: no outage to announce.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve))
      expect(events).toEqual([])
      expect(errors).toEqual([])
    })

    // The store's own bound off (timeout: 0): ioredis's own settings still reach the store as
    // RedisUnavailableError, and as events.
    it("ioredis commandTimeout, the store's bound off: ETIMEDOUT, disconnect, then connect", async () => {
      const servers = {standalone: {url: server.url} as RedisServer}
      const own = await connectClient(kind, servers, {ioredis: {commandTimeout: TIMEOUT_MS}})
      try {
        const store = new RedisStore(own.client, {prefix: uniquePrefix("ct"), timeout: 0})
        const events: string[] = []
        store.on("disconnect", () => events.push("disconnect"))
        store.on("connect", () => events.push("connect"))
        server.pause()
        expectUnavailable(await timed(store.get("a")), "ETIMEDOUT")
        await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
        server.resume()
        await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
        expect(await store.get("a")).toBeNull()
      } finally {
        await own.close()
      }
    })

    it("ioredis enableOfflineQueue: false, the store's bound off: ENOTCONN at once while down", async () => {
      const servers = {standalone: {url: server.url} as RedisServer}
      const own = await connectClient(kind, servers, {ioredis: {enableOfflineQueue: false}})
      try {
        const prefix = uniquePrefix("oq")
        const store = new RedisStore(own.client, {prefix, timeout: 0})
        await server.kill()
        await vi.waitFor(async () => expect(await clientIsReady(own.client)).toBe(false), WAIT)
        expectUnavailable(await timed(store.set("late", makeSession())), "ENOTCONN")
        await server.restart()
        await vi.waitFor(async () => expect(await clientIsReady(own.client)).toBe(true), WAIT)
        expect(await server.command("EXISTS", `${prefix}late`)).toBe(0)
      } finally {
        await own.close()
      }
    })
  } else {
    // GLIDE: a client exists once connected, or (lazyConnect) connects on its first command.
    it("a GLIDE lazyConnect client connects on the store's first command; closed: ENOTCONN at once", async () => {
      const client = await createLazy(kind, {standalone: {url: server.url} as RedisServer})
      const store = new RedisStore(client, {prefix: uniquePrefix("lazy"), timeout: TIMEOUT_MS})
      const events: string[] = []
      store.on("disconnect", () => events.push("disconnect"))
      await store.set("a", makeSession())
      expect(await store.get("a")).not.toBeNull()
      await closeClient(client)
      expectUnavailable(await timed(store.get("a")), "ENOTCONN")
      // Closed by the app: no outage to announce.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve))
      expect(events).toEqual([])
    })

    it("GLIDE requestTimeout, the store's bound off: ETIMEDOUT, disconnect, then connect", async () => {
      const client = await createLazy(kind, {standalone: {url: server.url} as RedisServer})
      try {
        const store = new RedisStore(client, {prefix: uniquePrefix("rt"), timeout: 0})
        const events: string[] = []
        store.on("disconnect", () => events.push("disconnect"))
        store.on("connect", () => events.push("connect"))
        expect(await store.get("a")).toBeNull()
        server.pause()
        // GLIDE's own bound (requestTimeout, 250 ms by default) still reaches the store.
        expectUnavailable(await timed(store.get("a")), "ETIMEDOUT")
        await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
        server.resume()
        await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
        expect(await store.get("a")).toBeNull()
      } finally {
        await closeClient(client)
      }
    })
  }
})
