// What one request costs in commands, counted where Redis receives them (its slow log, set to
// record every command), under express-session and @fastify/session over real HTTP, on a
// plain client and a cluster of node-redis and ioredis.
//
// express-session calls get, then touch for a request that changed nothing (two commands for
// every store so far): here that is one (GETEX). @fastify/session saves the whole session on
// every request (its `rolling`): here a request that changed nothing sends no session data.

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
import {expressApp, listen, MAX_AGE_MS} from "./support/express-app.js"
import {startFastifyApp} from "./support/fastify-app.js"
import type {RawRedis} from "./support/raw-redis.js"
import {uniquePrefix} from "./support/sessions.js"

const KINDS = [
  "node-redis 6 client",
  "ioredis 6 client",
  "node-redis 5 cluster",
  "ioredis 6 cluster",
]

describe.each(CLIENT_KINDS.filter((kind) => KINDS.includes(kind.name)))(
  "commands per request with a $name",
  (kind) => {
    let suite: SuiteServers | undefined
    let connection: TestClient
    let raw: RawRedis

    beforeAll(async () => {
      suite = await startServersFor(kind)
      raw = suite.raw
      connection = await connectClient(kind, suite.servers)
    })
    afterAll(async () => {
      await connection?.close()
      await suite?.stop()
    })

    it("express-session: one command for a request that changes nothing, two for one that does", async () => {
      const prefix = uniquePrefix("rt-express")
      const {http, base} = await listen(expressApp(new RedisStore(connection.client, {prefix})))
      try {
        const browser = new Browser(base)
        await browser.request("POST", "/login")
        // One round of each first: Redis then has the store's scripts (no NOSCRIPT below).
        await browser.request("GET", "/me")
        await browser.request("POST", "/count")
        const key = prefix + browser.sid
        await raw.onKey(key, "PEXPIRE", key, 20_000)
        const read = await raw.commandsFor(prefix, () => browser.request("GET", "/me"))
        expect(read).toEqual(["GETEX"])
        const left = await raw.pttl(key)
        expect(left).toBeGreaterThan(MAX_AGE_MS - 1_500)
        expect(left).toBeLessThanOrEqual(MAX_AGE_MS)
        const write = await raw.commandsFor(prefix, () => browser.request("POST", "/count"))
        expect(write).toEqual(["GETEX", "EVALSHA"])
        expect((await browser.request("GET", "/me")).body).toEqual({
          user: {id: 1, name: "Ada"},
          views: 2,
        })
      } finally {
        await new Promise((resolve) => http.close(resolve))
      }
    })

    it("@fastify/session: a request that changes nothing sends no session data", async () => {
      const prefix = uniquePrefix("rt-fastify")
      const {app, base} = await startFastifyApp(new RedisStore(connection.client, {prefix}))
      try {
        const browser = new Browser(base, "fastify")
        await browser.request("POST", "/login")
        await browser.request("GET", "/me")
        const key = prefix + browser.sid
        const stored = await raw.get(key)
        await raw.onKey(key, "PEXPIRE", key, 20_000)
        const sent = await raw.commandsFor(prefix, () => browser.request("GET", "/me"))
        expect(sent).toEqual(["GETEX"])
        expect(await raw.get(key)).toBe(stored)
        expect(await raw.pttl(key)).toBeGreaterThan(MAX_AGE_MS - 1_500)
        // A change is still saved (whole: @fastify/session gives no base to merge with).
        const write = await raw.commandsFor(prefix, () => browser.request("POST", "/count"))
        expect(write).toEqual(["GETEX", "SET"])
        expect((await browser.request("GET", "/me")).body.views).toBe(1)
      } finally {
        await app.close()
      }
    })

    it("@fastify/session after a restart: the first request saves whole, the next send no data", async () => {
      const prefix = uniquePrefix("rt-restart")
      const before = await startFastifyApp(new RedisStore(connection.client, {prefix}))
      const first = new Browser(before.base, "fastify")
      try {
        await first.request("POST", "/login")
      } finally {
        await before.app.close()
      }
      // A new process: its store has seen no save yet, so it keeps no read until one comes
      // with a session no read of its noted (@fastify/session's own Session object).
      const {app, base} = await startFastifyApp(new RedisStore(connection.client, {prefix}))
      try {
        const browser = Object.assign(new Browser(base, "fastify"), {cookie: first.cookie})
        const key = prefix + browser.sid
        const firstRequest = await raw.commandsFor(prefix, () => browser.request("GET", "/me"))
        expect(firstRequest).toEqual(["GET", "SET"])
        const sent = await raw.commandsFor(prefix, () => browser.request("GET", "/me"))
        expect(sent).toEqual(["GETEX"])
        expect(await raw.pttl(key)).toBeGreaterThan(MAX_AGE_MS - 1_500)
        expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      } finally {
        await app.close()
      }
    })
  },
)
