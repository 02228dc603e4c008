// Redundant mode under HTTP load through express-session: two servers, one killed (kill -9)
// in the middle. No request fails, no write is lost, no read answers an older session.

import type {AddressInfo} from "node:net"
import express from "express"
import session from "express-session"
import {expect, it, vi} from "vitest"
import {RedisStore} from "../src/index.js"
import {CLIENT_KINDS, connectClient} from "./support/clients.js"
import {RestartableServer} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

const USERS = 6
const WAIT = {timeout: 20_000, interval: 20}

function createApp(store: RedisStore) {
  const app = express()
  app.use(session({store, secret: "redundant test", resave: false, saveUninitialized: false}))
  app.post("/login", (req, res) => {
    req.session.user = {id: 1, name: "Ada"}
    req.session.views = 0
    res.json({ok: true})
  })
  app.post("/count", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.json({user: req.session.user ?? null, views: req.session.views})
  })
  return app
}

it("two servers, one killed under load: every request answered, every count kept", async () => {
  const servers = await Promise.all([0, 1].map(() => RestartableServer.start()))
  const kinds = ["node-redis 6 client", "ioredis 6 client"].map((name) =>
    CLIENT_KINDS.find((kind) => kind.name === name),
  )
  const connections = await Promise.all(
    servers.map((server, i) => {
      const kind = kinds[i]
      if (!kind) throw new Error("missing client kind")
      return connectClient(kind, {standalone: {url: server.url} as RedisServer})
    }),
  )
  const store = new RedisStore({
    clients: connections.map((connection) => connection.client),
    prefix: uniquePrefix("red-http"),
    timeout: 300,
  })
  const http = createApp(store).listen(0, "127.0.0.1")
  await new Promise((resolve) => http.once("listening", resolve))
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  try {
    const cookies = await Promise.all(
      Array.from({length: USERS}, async () => {
        const response = await fetch(`${base}/login`, {method: "POST"})
        return (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? ""
      }),
    )
    const answers: {status: number; user: unknown; views: unknown; expected: number}[] = []
    let running = true
    const loops = cookies.map(async (cookie) => {
      let sent = 0
      while (running) {
        sent++
        const response = await fetch(`${base}/count`, {method: "POST", headers: {cookie}})
        const body = (await response.json().catch(() => ({}))) as {user?: unknown; views?: unknown}
        answers.push({status: response.status, user: body.user, views: body.views, expected: sent})
      }
    })
    await vi.waitFor(() => expect(answers.length).toBeGreaterThan(200), WAIT)
    await servers[0]?.kill()
    const atKill = answers.length
    await vi.waitFor(() => expect(answers.length).toBeGreaterThan(atKill + 400), WAIT)
    running = false
    await Promise.all(loops)

    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(answers.filter((answer) => answer.user === null)).toEqual([])
    // Each user's counter went up by exactly one per request: nothing lost, nothing stale.
    expect(answers.filter((answer) => answer.views !== answer.expected)).toEqual([])
  } finally {
    await new Promise((resolve) => http.close(resolve))
    await Promise.all(connections.map((connection) => connection.close()))
    await Promise.all(servers.map((server) => server.stop()))
  }
})
