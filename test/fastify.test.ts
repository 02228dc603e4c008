// The store under @fastify/session, over real HTTP, on a real Redis: one client of each
// family (node-redis, ioredis, iovalkey), and an ioredis cluster.

import type {FastifyInstance} from "fastify"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore} from "../src/index.js"
import {Browser} from "./support/browser.js"
import {
  CLIENT_KINDS,
  connectClient,
  type SuiteServers,
  startServersFor,
  type TestClient,
} from "./support/clients.js"
import {startFastifyApp as startApp} from "./support/fastify-app.js"
import type {RawRedis} from "./support/raw-redis.js"
import {waitUntil} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

/** How long a command may take to reach Redis on this machine, at most (PX counts from there). */
const LATENCY_MS = 50

const KINDS = ["node-redis 6 client", "ioredis 6 client", "iovalkey client", "ioredis 6 cluster"]

describe.each(CLIENT_KINDS.filter((kind) => KINDS.includes(kind.name)))(
  "@fastify/session with a $name",
  (kind) => {
    let suite: SuiteServers | undefined
    let connection: TestClient
    let raw: RawRedis
    let app: FastifyInstance
    let base: string
    let prefix: string

    beforeAll(async () => {
      suite = await startServersFor(kind)
      raw = suite.raw
      connection = await connectClient(kind, suite.servers)
      prefix = uniquePrefix("fastify")
      ;({app, base} = await startApp(new RedisStore(connection.client, {prefix})))
    })
    afterAll(async () => {
      await app?.close()
      await connection?.close()
      await suite?.stop()
    })

    it("logs in, keeps the session across requests, with the cookie's lifetime in Redis", async () => {
      const browser = new Browser(base, "fastify")
      expect((await browser.request("GET", "/me")).body.user).toBeNull()
      expect(browser.cookie).toBeUndefined()
      expect((await browser.request("POST", "/login")).status).toBe(200)
      expect(browser.cookie).toBeDefined()
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      await browser.request("POST", "/count")
      expect((await browser.request("POST", "/count")).body.views).toBe(2)
      expect((await browser.request("GET", "/me")).body.views).toBe(2)
      const key = prefix + browser.sid
      expect(await raw.type(key)).toBe("string")
      expect(JSON.parse(String(await raw.get(key))).user).toEqual({id: 1, name: "Ada"})
      const ttl = await raw.ttl(key)
      expect(ttl).toBeGreaterThan(50)
      expect(ttl).toBeLessThanOrEqual(60)
    })

    it("logs out for good: the old cookie no longer works, even for a write", async () => {
      const browser = new Browser(base, "fastify")
      await browser.request("POST", "/login")
      const {cookie, sid} = browser
      expect((await browser.request("POST", "/logout")).status).toBe(200)
      expect(await raw.type(prefix + sid)).toBe("hash")

      const replay = new Browser(base, "fastify")
      replay.cookie = cookie
      expect((await replay.request("GET", "/me")).body.user).toBeNull()
      // A write with the stolen cookie starts a new, anonymous session under a new id.
      expect((await replay.request("POST", "/count")).body.views).toBe(1)
      expect(replay.sid).not.toBe(sid)
      expect(await raw.type(prefix + sid)).toBe("hash")
      expect((await browser.request("GET", "/me")).body.user).toBeNull()
    })

    it("absoluteTimeout holds under @fastify/session: the creation time survives its saves", async () => {
      const absolutePrefix = uniquePrefix("fastify-absolute")
      const store = new RedisStore(connection.client, {prefix: absolutePrefix, absoluteTimeout: 2})
      const short = await startApp(store)
      try {
        const browser = new Browser(short.base, "fastify")
        await browser.request("POST", "/login")
        const key = absolutePrefix + browser.sid
        const createdAt = () => raw.get(key).then((v) => JSON.parse(String(v)).sessionCreatedAt)
        const created = await createdAt()
        expect(created).toBeGreaterThan(Date.now() - 2_000)
        await browser.request("POST", "/count")
        expect((await browser.request("POST", "/count")).body.views).toBe(2)
        expect(await createdAt()).toBe(created)
        // PX counts from when Redis runs the command: its trip there may add a millisecond or so.
        const before = Date.now()
        expect(await raw.pttl(key)).toBeLessThanOrEqual(created + 2_000 - before + LATENCY_MS)
        // Kept busy, the session still ends at its absolute time.
        await waitUntil("the session to end", async () => {
          const {body} = await browser.request("POST", "/count")
          return body.views === 1
        })
        // The store found it over by its clock; Redis drops it at the expiry the last save
        // gave, counted from when Redis ran it (a trip later): gone, or ending within that.
        const left = await raw.pttl(key)
        const endsAt = left === -2 ? 0 : left === -1 ? Number.POSITIVE_INFINITY : Date.now() + left
        expect(endsAt).toBeLessThanOrEqual(created + 2_000 + LATENCY_MS)
      } finally {
        await short.app.close()
      }
    })

    it("saw no client errors", () => {
      expect(connection.errors).toEqual([])
    })
  },
)
