// A store that builds its own client from settings (connect-redis 3's url, host, port, socket,
// db, pass, unref), uses it, and closes it with store.close(); against real servers.

import {spawnSync} from "node:child_process"
import {type AddressInfo, createServer, type Server} from "node:net"
import {tmpdir} from "node:os"
import {join} from "node:path"
import {fileURLToPath} from "node:url"
import {afterAll, beforeAll, describe, expect, it, vi} from "vitest"
import {type RedisClientLike, RedisStore, RedisUnavailableError} from "../src/index.js"
import {closeClient, connectClient, kindsFor} from "./support/clients.js"
import {freePort, type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const PASSWORD = "s3cret-Pa55word"
const WAIT = {timeout: 15_000, interval: 20}

function isOpen(store: RedisStore): boolean {
  return (store.client as unknown as {isOpen: boolean}).isOpen
}

/** Every event the store emits, with its reason's message. */
function recordEvents(store: RedisStore): string[] {
  const events: string[] = []
  store.on("disconnect", (reason: unknown) => events.push(`disconnect: ${messageOf(reason)}`))
  store.on("connect", () => events.push("connect"))
  return events
}

function messageOf(error: unknown): string {
  return error instanceof Error
    ? `${error.name} ${error.message} ${String(error.cause ?? "")}`
    : String(error)
}

/** A round trip through the store, and the key where Redis holds it. */
let trips = 0

async function roundTrip(store: RedisStore) {
  trips += 1
  const session = makeSession(60_000, {views: trips})
  await store.set("a", session)
  expect(await store.get("a")).toEqual(asStored(session))
}

describe("a store that builds its own client from settings", () => {
  let server: RedisServer
  let socketServer: RedisServer
  let guarded: RedisServer
  const socketPath = join(tmpdir(), `redis-session-store-${process.pid}.sock`)

  beforeAll(async () => {
    server = await startRedisServer()
    socketServer = await startRedisServer({
      args: () => ["--unixsocket", socketPath, "--unixsocketperm", "700"],
    })
    guarded = await startRedisServer()
    await guarded.command("CONFIG", "SET", "requirepass", PASSWORD)
  })
  afterAll(async () => {
    await server?.stop()
    await socketServer?.stop()
    await guarded?.stop()
  })

  it("from a url: works, says nothing while connecting, and close() closes it", async () => {
    const prefix = uniquePrefix("url")
    const store = new RedisStore({url: server.url, prefix})
    const events = recordEvents(store)
    await roundTrip(store)
    expect(await server.command("TYPE", `${prefix}a`)).toBe("string")
    expect(isOpen(store)).toBe(true)
    await store.close()
    expect(isOpen(store)).toBe(false)
    await store.close() // a second close is harmless
    const after = await store.get("a").catch((error: unknown) => error)
    expect(after).toBeInstanceOf(RedisUnavailableError)
    expect((after as RedisUnavailableError).code).toBe("ENOTCONN")
    expect(events).toEqual([])
  })

  it("from host and port, in database db", async () => {
    const prefix = uniquePrefix("db")
    const store = new RedisStore({host: server.host, port: server.port, db: 3, prefix})
    try {
      await roundTrip(store)
      expect(await server.command("EXISTS", `${prefix}a`)).toBe(0)
      // A script may SELECT another database for itself: the key is in database 3.
      const typeInDb3 = "redis.call('SELECT', 3) return redis.call('TYPE', KEYS[1]).ok"
      expect(await server.command("EVAL", typeInDb3, 1, `${prefix}a`)).toBe("string")
    } finally {
      await store.close()
    }
  })

  it("from node-redis's own createClient options, given as they are", async () => {
    const prefix = uniquePrefix("native")
    const store = new RedisStore({
      socket: {host: server.host, port: server.port},
      database: 4,
      prefix,
    } as never)
    try {
      await roundTrip(store)
      const typeInDb4 = "redis.call('SELECT', 4) return redis.call('TYPE', KEYS[1]).ok"
      expect(await server.command("EVAL", typeInDb4, 1, `${prefix}a`)).toBe("string")
    } finally {
      await store.close()
    }
  })

  it("from a Unix socket", async () => {
    const prefix = uniquePrefix("sock")
    const store = new RedisStore({socket: socketPath, prefix})
    try {
      await roundTrip(store)
      expect(await socketServer.command("TYPE", `${prefix}a`)).toBe("string")
    } finally {
      await store.close()
    }
  })

  it("with a password (pass, or in the url), and never shows it when it is wrong", async () => {
    for (const settings of [
      {host: guarded.host, port: guarded.port, pass: PASSWORD},
      {url: `redis://:${PASSWORD}@${guarded.host}:${guarded.port}`},
    ]) {
      const store = new RedisStore({...settings, prefix: uniquePrefix("auth")})
      await roundTrip(store)
      await store.close()
    }
    for (const settings of [
      {host: guarded.host, port: guarded.port, pass: `${PASSWORD}-wrong`},
      {url: `redis://:${PASSWORD}-wrong@${guarded.host}:${guarded.port}`},
    ]) {
      const store = new RedisStore({...settings, prefix: uniquePrefix("auth"), timeout: 500})
      const events = recordEvents(store)
      const failure = await store.get("a").catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(Error)
      await vi.waitFor(() => expect(events[0]).toMatch(/^disconnect: /), WAIT)
      await store.close()
      for (const text of [messageOf(failure), ...events]) expect(text).not.toContain(PASSWORD)
    }
  })

  it("with nothing listening: disconnect, bounded errors; close() stops it", async () => {
    const port = await freePort()
    const store = new RedisStore({host: "127.0.0.1", port, timeout: 300})
    const events = recordEvents(store)
    await vi.waitFor(() => expect(events[0]).toMatch(/^disconnect: /), WAIT)
    const failure = await store.get("a").catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(RedisUnavailableError)
    await store.close()
    expect(isOpen(store)).toBe(false)
  })

  it("unref: the open connection does not keep the process alive", async () => {
    const sockets = () =>
      process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap").length
    const before = sockets()
    const held = new RedisStore({url: server.url, prefix: uniquePrefix("ref")})
    await roundTrip(held)
    expect(sockets()).toBe(before + 1)
    const unrefed = new RedisStore({url: server.url, unref: true, prefix: uniquePrefix("unref")})
    await roundTrip(unrefed)
    expect(sockets()).toBe(before + 1)
    await held.close()
    await unrefed.close()
  })

  it("close() leaves a client the app gave open", async () => {
    const [kind] = kindsFor("standalone")
    if (!kind) throw new Error("no standalone kind")
    const connection = await connectClient(kind, {standalone: server})
    try {
      const store = new RedisStore(connection.client, {prefix: uniquePrefix("own")})
      await roundTrip(store)
      await store.close()
      await roundTrip(store)
    } finally {
      await closeClient(connection.client)
    }
  })

  const hidden = `redis://user:${PASSWORD}@`
  it.each([
    [
      "a url that is not redis://",
      {url: "http://localhost:6379"},
      /options\.url must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [
      "a url that does not parse, with a password",
      {url: `${hidden}:99999999`},
      /options\.url must be a redis/,
    ],
    ["a url that is not a string", {url: 6379}, /options\.url must be a redis/],
    [
      "a port that is not a number",
      {port: "6379"},
      /options\.port must be an integer from 1 to 65535; got a string/,
    ],
    ["port 0", {port: 0}, /options\.port must be an integer from 1 to 65535/],
    ["a fractional port", {port: 63.79}, /options\.port must be an integer/],
    ["an empty host", {host: ""}, /options\.host must be a non-empty string/],
    [
      "a negative db",
      {host: "localhost", db: -1},
      /options\.db must be a database number, 0 or more/,
    ],
    [
      "a db that is not a number",
      {url: "redis://localhost", db: "1"},
      /options\.db must be a database number/,
    ],
    [
      "a password that is not a string",
      {host: "localhost", pass: 123},
      /options\.pass must be a non-empty string/,
    ],
    [
      "unref that is not a boolean",
      {host: "localhost", unref: "yes"},
      /options\.unref must be a boolean/,
    ],
    [
      "url with host",
      {url: "redis://localhost", host: "localhost"},
      /either options\.url or options\.host\/port\/socket/,
    ],
    [
      "socket with port",
      {socket: "/tmp/redis.sock", port: 6379},
      /either options\.socket or options\.host\/port/,
    ],
    [
      "a misspelled setting",
      {url: "redis://localhost", prot: 6380},
      /unknown option "prot"; did you mean "port"\?/,
    ],
    [
      "a misspelled setting in clients",
      {clients: [{url: "redis://a"}, {url: "redis://b", dbb: 1}]},
      /options\.clients\[1\]: unknown option "dbb"; did you mean "db"\?/,
    ],
    [
      "a near miss of a store option beside node-redis's own options",
      {socket: {host: "localhost"}, password: "x", prefx: "app:"},
      /unknown option "prefx"; did you mean "prefix"\?/,
    ],
    [
      "a client and settings",
      {client: {} as RedisClientLike, url: "redis://localhost"},
      /either options\.client or settings/,
    ],
  ])("rejects %s with a TypeError, the password never in it", (_, settings, message) => {
    let thrown: unknown
    try {
      new RedisStore(settings as never)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TypeError)
    expect((thrown as Error).message).toMatch(message)
    expect((thrown as Error).message).not.toContain(PASSWORD)
  })
})

// Each scenario runs in a child process that must exit by itself: it does only when the store
// left no socket or timer open. A hang is killed at the bound and fails the test.
describe("nothing left open", () => {
  const fixture = fileURLToPath(new URL("./fixtures/leaves-nothing-open.ts", import.meta.url))
  let server: RedisServer
  let silent: Server
  let silentUrl: string

  beforeAll(async () => {
    server = await startRedisServer()
    // Accepts connections and never answers: a first connection that never becomes ready.
    silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    silentUrl = `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    silent?.close()
    await server?.stop()
  })

  function runs(scenario: string, url: string) {
    const child = spawnSync(process.execPath, ["--import", "tsx", fixture, scenario, url], {
      encoding: "utf8",
      timeout: 20_000,
    })
    return {status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr}
  }

  it.each(["bad-option", "bad-clients-entry", "redundant-bad-client", "redundant-bad-option"])(
    "a construction that throws (%s) leaves no connection open: the process exits",
    (scenario) => {
      const outcome = runs(scenario, server.url)
      expect(outcome.stderr).toBe("")
      expect(outcome).toMatchObject({status: 0, signal: null})
      expect(outcome.stdout).toContain("done")
    },
  )

  it.each(["close-at-once", "close-while-writing"])(
    "close() while the store's client makes its first connection closes it (%s)",
    (scenario) => {
      for (const url of [server.url, silentUrl]) {
        const outcome = runs(scenario, url)
        expect(outcome, url).toMatchObject({status: 0, signal: null})
        expect(outcome.stdout).toContain("done")
      }
    },
  )
})
