// What one request costs in commands, counted where Redis receives them (its slow log, set to
// record every command), under express-session and @fastify/session over real HTTP, on a
// plain client and a cluster of node-redis and ioredis.
//
// express-session calls get, then touch for a request that changed nothing (two commands for
// every store so far): here that is one (GETEX). @fastify/session saves the whole session on
// every request (its `rolling`): here a request that changed nothing sends no session data.

import type {AddressInfo} from "node:net"
import express from "express"
import session from "express-session"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore} from "../src/index.js"
import {Browser} from "./support/browser.js"
import {CLIENT_KINDS, connectClient, type Servers, type TestClient} from "./support/clients.js"
import {startFastifyApp} from "./support/fastify-app.js"
import {RawRedis} from "./support/raw-redis.js"
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedisServer,
} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

const MAX_AGE_MS = 60_000
const KINDS = [
  "node-redis 6 client",
  "ioredis 6 client",
  "node-redis 5 cluster",
  "ioredis 6 cluster",
]

function expressApp(store: RedisStore) {
  const app = express()
  app.use(
    session({
      store,
      name: "sid",
      secret: "a test secret",
      resave: false,
      saveUninitialized: false,
      cookie: {maxAge: MAX_AGE_MS},
    }),
  )
  app.post("/login", (req, res) => {
    req.session.user = {id: 1, name: "Ada"}
    res.json({ok: true})
  })
  app.get("/me", (req, res) => {
    res.json({user: req.session.user ?? null, views: req.session.views ?? 0})
  })
  app.post("/count", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.json({views: req.session.views})
  })
  return app
}

describe.each(CLIENT_KINDS.filter((kind) => KINDS.includes(kind.name)))(
  "commands per request with a $name",
  (kind) => {
    let standalone: RedisServer | undefined
    let cluster: RedisCluster | undefined
    let connection: TestClient
    let raw: RawRedis

    beforeAll(async () => {
      let servers: Servers
      if (kind.topology === "cluster") {
        cluster = await startCluster(3)
        servers = {cluster}
        raw = new RawRedis(cluster.nodes)
      } else {
        standalone = await startRedisServer()
        servers = {standalone}
        raw = new RawRedis([standalone])
      }
      connection = await connectClient(kind, servers)
    })
    afterAll(async () => {
      await connection?.close()
      await standalone?.stop()
      await cluster?.stop()
    })

    it("express-session: one command for a request that changes nothing, two for one that does", async () => {
      const prefix = uniquePrefix("rt-express")
      const http = expressApp(new RedisStore(connection.client, {prefix})).listen(0, "127.0.0.1")
      await new Promise((resolve) => http.once("listening", resolve))
      try {
        const browser = new Browser(`http://127.0.0.1:${(http.address() as AddressInfo).port}`)
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
  },
)
