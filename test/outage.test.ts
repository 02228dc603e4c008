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
  closeClient,
  connectClient,
  createUnconnected,
  kindsFor,
  type TestClient,
} from "./helpers/clients.js"
import {RestartableServer, timed} from "./helpers/outages.js"
import type {RedisServer} from "./helpers/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./helpers/sessions.js"

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
    server.resume()
    if ((await server.command("PING").catch(() => null)) !== "PONG") await server.restart()
    await vi.waitFor(() => expect(isReady(connection.client)).toBe(true), WAIT)
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

  it("a stalled server: every method settles within the bound; disconnect, then connect", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    server.pause()
    expectUnavailable(await timed(store.get("kept")), "ETIMEDOUT")
    expectUnavailable(await timed(store.set("other", session)), "ETIMEDOUT")
    expectUnavailable(await timed(store.touch("kept", session)), "ETIMEDOUT")
    expectUnavailable(await timed(store.destroy("other")), "ETIMEDOUT")
    expectUnavailable(await timed(store.length()), "ETIMEDOUT")
    expectUnavailable(await timed(store.clear()), "ETIMEDOUT")
    await vi.waitFor(() => expect(events).toEqual(["disconnect"]), WAIT)
    server.resume()
    await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
    expect(await store.get("kept")).toEqual(asStored(session))
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
    await vi.waitFor(() => expect(isReady(connection.client)).toBe(false), WAIT)
    // node-redis 5/6: queued in the client's offline queue, withdrawn when the bound fires.
    // node-redis 4: never handed to a client that is not ready (it cannot withdraw).
    const code = kind.version === 4 ? "ENOTCONN" : "ETIMEDOUT"
    expectUnavailable(await timed(store.set("late", makeSession())), code)
    expectUnavailable(await timed(store.destroy("late-destroy")), code)
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
    server.resume()
    expect(await store.get("a")).toBeNull()
    expect(events).toEqual([])
  })

  it("a client that is not connected yet: ENOTCONN at once, disconnect; connect once it is", async () => {
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
})

function isReady(client: unknown): boolean {
  return (client as {isReady?: boolean}).isReady === true
}
