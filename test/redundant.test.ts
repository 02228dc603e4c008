// Redundant mode (`clients: [...]`) on real servers that the tests kill, empty, stall and
// bring back: no session is lost with one server, nothing older wins over newer, and a
// logout stays final across a server's absence. One server is reached through node-redis 6,
// the others through ioredis 6: any supported client may be an entry.

import type {SessionData} from "express-session"
import {afterEach, beforeEach, describe, expect, it, vi} from "vitest"
import {RedisStore, type ServerReport} from "../src/index.js"
import {REPAIR_SESSION} from "../src/redis/scripts.js"
import {CLIENT_KINDS, type ClientKind, connectClient, type TestClient} from "./support/clients.js"
import {RestartableServer, timed} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 300
const CEILING_MS = TIMEOUT_MS + 1_500
const WAIT = {timeout: 15_000, interval: 20}
function kindNamed(name: string): ClientKind {
  const kind = CLIENT_KINDS.find((candidate) => candidate.name === name)
  if (!kind) throw new Error(`no kind ${name}`)
  return kind
}
const NODE_REDIS = kindNamed("node-redis 6 client")
const IOREDIS = kindNamed("ioredis 6 client")
/** The first server through node-redis, the others through ioredis. */
const kindFor = (i: number) => (i === 0 ? NODE_REDIS : IOREDIS)

describe.each([2, 3])("redundant mode on %i servers", (count) => {
  let servers: RestartableServer[]
  let connections: TestClient[]

  beforeEach(async () => {
    servers = await Promise.all(Array.from({length: count}, () => RestartableServer.start()))
    connections = await Promise.all(
      servers.map((server, i) =>
        connectClient(kindFor(i), {standalone: {url: server.url} as RedisServer}),
      ),
    )
  })
  afterEach(async () => {
    await Promise.all(connections.map((connection) => connection.close()))
    await Promise.all(servers.map((server) => server.stop()))
  })

  function newStore() {
    const prefix = uniquePrefix("red")
    const store = new RedisStore({
      clients: connections.map((connection) => connection.client),
      prefix,
      timeout: TIMEOUT_MS,
    })
    const events: string[] = []
    for (const event of ["serverDown", "serverUp"] as const) {
      store.on(event, (report: ServerReport) => events.push(`${event} ${report.server}`))
    }
    return {store, prefix, events}
  }

  const first = 0
  const key = (prefix: string, sid: string) => `${prefix}${sid}`

  it("writes reach every server, stamped; a read answers the session", async () => {
    const {store, prefix} = newStore()
    const session = makeSession()
    await store.set("a", session)
    // Each check waits: a write answers once the first server has it, the others follow.
    for (const server of servers) {
      await vi.waitFor(async () => {
        expect(String(await server.command("GET", key(prefix, "a")))).toMatch(/^rss1\|\d+\|\{/)
      }, WAIT)
    }
    expect(await store.get("a")).toEqual(asStored(session))
    await store.touch("a", makeSession(500_000))
    for (const server of servers) {
      await vi.waitFor(async () => {
        expect(await server.command("TTL", key(prefix, "a"))).toBeGreaterThan(490)
      }, WAIT)
    }
  })

  it("absoluteTimeout: every server holds the creation time and a life capped by it; get refuses one past it", async () => {
    const prefix = uniquePrefix("red-absolute")
    const clients = connections.map((connection) => connection.client)
    const store = new RedisStore({clients, prefix, timeout: TIMEOUT_MS, absoluteTimeout: 60})
    await store.set("a", makeSession(600_000))
    const created = (await store.get("a"))?.sessionCreatedAt as number
    expect(created).toBeGreaterThan(Date.now() - 5_000)
    for (const server of servers) {
      await vi.waitFor(async () => {
        expect(String(await server.command("GET", key(prefix, "a")))).toContain(`${created}`)
        const left = Number(await server.command("PTTL", key(prefix, "a")))
        expect(left).toBeGreaterThan(0)
        expect(left).toBeLessThanOrEqual(60_000)
      }, WAIT)
    }
    await store.set("old", {...makeSession(600_000), sessionCreatedAt: Date.now() - 61_000})
    expect(await store.get("old")).toBeNull()
  })

  it("one server killed: every method goes on within the bound; the server is named down, then up", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    await servers[first]?.kill()
    for (const outcome of [
      await timed(store.get("kept")),
      await timed(store.set("new", session)),
      await timed(store.touch("kept", session)),
      await timed(store.get("new")),
      await timed(store.destroy("new")),
    ]) {
      expect(outcome.error).toBeUndefined()
      expect(outcome.ms).toBeLessThan(CEILING_MS)
    }
    expect(await store.get("kept")).toEqual(asStored(session))
    expect(await store.get("new")).toBeNull()
    await vi.waitFor(() => expect(events).toEqual(["serverDown clients[0]"]), WAIT)
    await servers[first]?.restart()
    await vi.waitFor(
      () => expect(events).toEqual(["serverDown clients[0]", "serverUp clients[0]"]),
      WAIT,
    )
  })

  it("one server stalled: reads wait for it at most the bound, then skip it", async () => {
    const {store, events} = newStore()
    const session = makeSession()
    await store.set("kept", session)
    servers[first]?.pause()
    try {
      const outcome = await timed(store.get("kept"))
      expect(outcome.value).toEqual(asStored(session))
      expect(outcome.ms).toBeLessThan(CEILING_MS)
      await vi.waitFor(() => expect(events).toEqual(["serverDown clients[0]"]), WAIT)
      const skipped = await timed(store.set("during", session))
      expect(skipped.error).toBeUndefined()
      expect(skipped.ms).toBeLessThan(CEILING_MS)
    } finally {
      servers[first]?.resume()
    }
    await vi.waitFor(() => expect(events.at(-1)).toBe("serverUp clients[0]"), WAIT)
    expect(await store.get("during")).toEqual(asStored(session))
  })

  it("a write another server refuses still succeeds, and the refusal is reported with the server's name", async () => {
    const {store, prefix} = newStore()
    const reports: ServerReport[] = []
    store.on("serverError", (report: ServerReport) => reports.push(report))
    await servers[first]?.command("CONFIG", "SET", "maxmemory", 1)
    try {
      await store.set("a", makeSession())
      await vi.waitFor(() => expect(reports).toHaveLength(1), WAIT)
      expect(reports[0]?.server).toBe("clients[0]")
      expect(String(reports[0]?.reason)).toMatch(/OOM/)
      expect(await servers[first]?.command("EXISTS", key(prefix, "a"))).toBe(0)
      await vi.waitFor(async () => {
        expect(await servers[1]?.command("TYPE", key(prefix, "a"))).toBe("string")
      }, WAIT)
    } finally {
      await servers[first]?.command("CONFIG", "SET", "maxmemory", 0)
    }
  })

  it("a server that comes back empty: sessions are still found, and copied back to it", async () => {
    const {store, prefix} = newStore()
    const session = makeSession(500_000)
    await store.set("a", session)
    await servers[first]?.command("FLUSHALL")
    expect(await store.get("a")).toEqual(asStored(session))
    await vi.waitFor(async () => {
      expect(await servers[first]?.command("TYPE", key(prefix, "a"))).toBe("string")
    }, WAIT)
    expect(await servers[first]?.command("TTL", key(prefix, "a"))).toBeGreaterThan(490)
  })

  it("an older value on one server: the newer one wins, and replaces it", async () => {
    const {store, prefix} = newStore()
    const older = makeSession(60_000, {views: 1})
    const newer = makeSession(60_000, {views: 2})
    await store.set("a", newer)
    const stale = `rss1|1|${JSON.stringify(older)}`
    await servers[first]?.command("SET", key(prefix, "a"), stale)
    expect(await store.get("a")).toEqual(asStored(newer))
    await vi.waitFor(async () => {
      const held = String(await servers[first]?.command("GET", key(prefix, "a")))
      expect(held).not.toBe(stale)
      expect(held).toContain('"views":2')
    }, WAIT)
  })

  it("a logout while a server is down stays final when it comes back with the old session", async () => {
    const {store, prefix} = newStore()
    await store.set("a", makeSession(60_000, {user: {id: 1}} as Partial<SessionData>))
    // A write resolves on the first server's answer: let this one's land before the kill.
    await vi.waitFor(async () => {
      expect(await servers[first]?.command("TYPE", key(prefix, "a"))).toBe("string")
    }, WAIT)
    await servers[first]?.kill()
    await store.destroy("a")
    await servers[first]?.restart()
    expect(await servers[first]?.command("TYPE", key(prefix, "a"))).toBe("string")
    expect(await store.get("a")).toBeNull()
    // Reads repair what they see: once the server is back in use, it gets the tombstone too.
    await vi.waitFor(async () => {
      expect(await store.get("a")).toBeNull()
      expect(await servers[first]?.command("TYPE", key(prefix, "a"))).toBe("hash")
    }, WAIT)
    // A late write from a request that loaded the session before the logout changes nothing.
    await store.set("a", makeSession())
    expect(await store.get("a")).toBeNull()
  })

  it("bulk methods merge the servers, without duplicates and without destroyed sessions", async () => {
    const {store, prefix} = newStore()
    const [a, b] = [servers[0] as RestartableServer, servers[1] as RestartableServer]
    const value = (views: number, stamp: number) =>
      `rss1|${stamp}|${JSON.stringify(makeSession(60_000, {views}))}`
    await a.command("SET", key(prefix, "both"), value(1, 10))
    await b.command("SET", key(prefix, "both"), value(2, 20))
    await a.command("SET", key(prefix, "onlyA"), value(3, 10))
    await b.command("SET", key(prefix, "onlyB"), value(4, 10))
    await a.command("SET", key(prefix, "destroyed"), value(5, 10))
    await b.command("HSET", key(prefix, "destroyed"), "destroyedAt", Date.now())
    const all = await store.all()
    expect(all.map((session) => session.id).sort()).toEqual(["both", "onlyA", "onlyB"])
    expect(all.find((session) => session.id === "both")?.views).toBe(2)
    const entries = new Map<string, SessionData>()
    for await (const [id, session] of store.entries()) entries.set(id, session)
    expect([...entries.keys()].sort()).toEqual(["both", "onlyA", "onlyB"])
    expect(entries.get("both")?.views).toBe(2)
    expect((await store.ids()).sort()).toEqual(["both", "destroyed", "onlyA", "onlyB"])
    expect(await store.length()).toBe(4)
    await store.clear()
    expect(await store.ids()).toEqual([])
    for (const server of servers) {
      for (const sid of ["both", "onlyA", "onlyB"]) {
        expect(await server.command("TYPE", key(prefix, sid))).toBe("hash")
      }
    }
  })
})

describe("the repair script", () => {
  it("copies a value only where there is none or an older one: never over newer, a tombstone or another type", async () => {
    const server = await RestartableServer.start()
    try {
      const repair = (key: string, value: string, ms: number) =>
        server.command("EVAL", REPAIR_SESSION.source, 1, key, value, ms)
      const prefix = uniquePrefix("repair")
      expect(await repair(`${prefix}none`, "rss1|20|{}", 50_000)).toBe(1)
      expect(Number(await server.command("PTTL", `${prefix}none`))).toBeGreaterThan(40_000)
      await server.command("SET", `${prefix}older`, "rss1|10|{}")
      expect(await repair(`${prefix}older`, "rss1|20|{}", -1)).toBe(1)
      expect(await server.command("GET", `${prefix}older`)).toBe("rss1|20|{}")
      await server.command("SET", `${prefix}newer`, "rss1|30|{}")
      expect(await repair(`${prefix}newer`, "rss1|20|{}", -1)).toBe(0)
      expect(await server.command("GET", `${prefix}newer`)).toBe("rss1|30|{}")
      await server.command("HSET", `${prefix}tombstone`, "destroyedAt", 1)
      expect(await repair(`${prefix}tombstone`, "rss1|20|{}", -1)).toBe(0)
      await server.command("RPUSH", `${prefix}list`, "x")
      expect(await repair(`${prefix}list`, "rss1|20|{}", -1)).toBe(0)
      expect(await server.command("TYPE", `${prefix}list`)).toBe("list")
    } finally {
      await server.stop()
    }
  })
})

describe("redundant mode, three servers, two of them down", () => {
  it("still reads and writes through the last one", async () => {
    const servers = await Promise.all([0, 1, 2].map(() => RestartableServer.start()))
    const connections = await Promise.all(
      servers.map((server) =>
        connectClient(NODE_REDIS, {standalone: {url: server.url} as RedisServer}),
      ),
    )
    try {
      const store = new RedisStore({
        clients: connections.map((connection) => connection.client),
        prefix: uniquePrefix("two-down"),
        timeout: TIMEOUT_MS,
      })
      const session = makeSession()
      await store.set("a", session)
      await servers[0]?.kill()
      await servers[1]?.kill()
      expect(await store.get("a")).toEqual(asStored(session))
      await store.set("b", session)
      expect(await store.get("b")).toEqual(asStored(session))
    } finally {
      await Promise.all(connections.map((connection) => connection.close()))
      await Promise.all(servers.map((server) => server.stop()))
    }
  })
})

describe("redundant mode built from settings", () => {
  it("creates a client per entry, uses them, and close() closes them", async () => {
    const servers = await Promise.all([0, 1].map(() => RestartableServer.start()))
    try {
      const [a, b] = servers as [RestartableServer, RestartableServer]
      const prefix = uniquePrefix("owned")
      const store = new RedisStore({
        // connect-redis 3's settings, and node-redis's own createClient options.
        clients: [{url: a.url}, {socket: {host: "127.0.0.1", port: b.port}}],
        prefix,
      })
      const session = makeSession()
      await store.set("a", session)
      expect(await store.get("a")).toEqual(asStored(session))
      expect(store.clients).toHaveLength(2)
      for (const server of servers) expect(await server.command("EXISTS", `${prefix}a`)).toBe(1)
      await store.close()
      for (const client of store.clients) {
        expect((client as unknown as {isOpen: boolean}).isOpen).toBe(false)
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
    }
  })

  it("close() closes the clients it built and leaves the app's own open", async () => {
    const servers = await Promise.all([0, 1].map(() => RestartableServer.start()))
    const [a, b] = servers as [RestartableServer, RestartableServer]
    const own = await connectClient(NODE_REDIS, {standalone: {url: a.url} as RedisServer})
    try {
      const store = new RedisStore({
        clients: [own.client, {url: b.url}],
        prefix: uniquePrefix("mix"),
      })
      await store.set("a", makeSession())
      await store.close()
      const [appClient, built] = store.clients as unknown as {isOpen: boolean}[]
      expect(appClient?.isOpen).toBe(true)
      expect(built?.isOpen).toBe(false)
    } finally {
      await own.close()
      await Promise.all(servers.map((server) => server.stop()))
    }
  })

  it("names a server built from settings by its address, never with its password", async () => {
    const server = await RestartableServer.start()
    try {
      const store = new RedisStore({
        clients: [{url: "redis://:s3cret-Pa55@127.0.0.1:1/2"}, {url: server.url}],
        prefix: uniquePrefix("names"),
        timeout: TIMEOUT_MS,
      })
      const reports: ServerReport[] = []
      store.on("serverDown", (report: ServerReport) => reports.push(report))
      await store.set("a", makeSession())
      await vi.waitFor(() => expect(reports).toHaveLength(1), WAIT)
      expect(reports[0]?.server).toBe("clients[0] (redis://127.0.0.1:1/2)")
      expect(JSON.stringify(reports[0]) + String(reports[0]?.reason)).not.toContain("s3cret")
      await store.close()
    } finally {
      await server.stop()
    }
  })

  it.each([
    ["an empty list", {clients: []}, /options\.clients must be a non-empty array/],
    [
      "an entry that is neither",
      {clients: [42]},
      /options\.clients\[0\] must be a client or client settings/,
    ],
    [
      "clients and a url",
      {clients: [{url: "redis://a"}], url: "redis://b"},
      /either options\.clients or one client/,
    ],
    ["tombstones off", {clients: [{url: "redis://a"}], tombstoneSeconds: 0}, /needs tombstones/],
    ["touchAfter", {clients: [{url: "redis://a"}], touchAfter: 60}, /touchAfter is not available/],
  ])("rejects %s with a TypeError", (_, options, message) => {
    expect(() => new RedisStore(options as never)).toThrow(TypeError)
    expect(() => new RedisStore(options as never)).toThrow(message)
  })
})
