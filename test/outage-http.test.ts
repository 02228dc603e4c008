// Outages under HTTP load through express-session: Redis killed (kill -9) and started again
// on the same port with its data, and Redis stalled (SIGSTOP, SIGCONT). No request waits past
// the bound, the store says "disconnect" then "connect" (express-session then serves requests
// without a session), and afterwards every request succeeds with the session it had.
//
// The loose ceiling on durations (timeout + 1.5 s) tells "bounded" from "hangs"; speed is
// the benchmark's business.

import type {AddressInfo} from "node:net"
import express from "express"
import session from "express-session"
import {afterAll, beforeAll, describe, expect, it, vi} from "vitest"
import {RedisStore} from "../src/index.js"
import {connectClient, kindsFor, type TestClient} from "./support/clients.js"
import {RestartableServer} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 300
const CEILING_MS = TIMEOUT_MS + 1_500
const USERS = 6
const WAIT = {timeout: 20_000, interval: 20}

interface Sample {
  ms: number
  status: number
  user: unknown
}

function createApp(store: RedisStore) {
  const app = express()
  app.use(session({store, secret: "outage test", resave: false, saveUninitialized: false}))
  app.post("/login/:name", (req, res) => {
    if (!req.session) {
      res.status(503).json({error: "sessions are unavailable"})
      return
    }
    req.session.user = {id: 1, name: req.params.name}
    res.json({ok: true})
  })
  // What an app does without a session store: serve the request, without the user.
  app.get("/me", (req, res) => {
    res.json({user: req.session?.user ?? null, degraded: req.session === undefined})
  })
  return app
}

/** Virtual users, each with its own session cookie, sending GET /me in a loop. */
class Load {
  readonly samples: Sample[] = []
  #running = true
  #loops: Promise<void>[] = []

  constructor(
    private readonly base: string,
    private readonly cookies: string[],
  ) {}

  start(): void {
    this.#loops = this.cookies.map(async (cookie) => {
      while (this.#running) {
        const started = performance.now()
        try {
          const response = await fetch(`${this.base}/me`, {headers: {cookie}})
          const body = (await response.json().catch(() => ({}))) as {user?: unknown}
          this.samples.push({
            ms: performance.now() - started,
            status: response.status,
            user: body.user,
          })
        } catch {
          this.samples.push({ms: performance.now() - started, status: 0, user: undefined})
        }
      }
    })
  }

  /** Waits until `count` more requests have been answered. */
  async more(count: number): Promise<void> {
    const target = this.samples.length + count
    await vi.waitFor(() => expect(this.samples.length).toBeGreaterThanOrEqual(target), WAIT)
  }

  async stop(): Promise<void> {
    this.#running = false
    await Promise.all(this.#loops)
  }
}

describe.each(kindsFor("standalone"))("HTTP load through an outage, $name", (kind) => {
  let server: RestartableServer
  let connection: TestClient
  let http: import("node:http").Server
  let base: string
  let store: RedisStore
  const events: string[] = []

  beforeAll(async () => {
    server = await RestartableServer.start()
    connection = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
    store = new RedisStore(connection.client, {prefix: uniquePrefix("http"), timeout: TIMEOUT_MS})
    store.on("disconnect", () => events.push("disconnect"))
    store.on("connect", () => events.push("connect"))
    http = createApp(store).listen(0, "127.0.0.1")
    await new Promise((resolve) => http.once("listening", resolve))
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => http?.close(resolve))
    await connection?.close()
    await server?.stop()
  })

  async function logIn(): Promise<string[]> {
    const cookies: string[] = []
    for (let i = 0; i < USERS; i++) {
      const response = await fetch(`${base}/login/user${i}`, {method: "POST"})
      expect(response.status).toBe(200)
      const cookie = response.headers.getSetCookie()[0]?.split(";")[0]
      if (!cookie) throw new Error("no session cookie")
      cookies.push(cookie)
    }
    return cookies
  }

  async function throughOutage(takeAway: () => Promise<void>, bringBack: () => Promise<void>) {
    events.length = 0
    const load = new Load(base, await logIn())
    load.start()
    try {
      await load.more(30)
      await takeAway()
      await vi.waitFor(() => expect(events).toContain("disconnect"), WAIT)
      // Keep the load on through the outage: 3,000 requests (a few seconds here).
      await load.more(3_000)
      await bringBack()
      await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), WAIT)
      const recovered = load.samples.length
      await load.more(60)
      await load.stop()
      const after = load.samples.slice(recovered)
      // Requests in flight when "connect" came may still have been served without a session.
      const settled = after.slice(USERS)
      expect(settled.length).toBeGreaterThan(0)
      for (const sample of settled) {
        expect(sample.status).toBe(200)
        expect(sample.user).toMatchObject({id: 1})
      }
      const slowest = Math.max(...load.samples.map((sample) => sample.ms))
      expect(slowest).toBeLessThan(CEILING_MS)
      // While Redis was away, requests were answered (without a session), not failed.
      expect(load.samples.some((sample) => sample.status === 200 && sample.user === null)).toBe(
        true,
      )
    } finally {
      await load.stop()
    }
  }

  it("kill -9, then a restart on the same port with its data", async () => {
    await throughOutage(
      () => server.kill(),
      () => server.restart(),
    )
  })

  it("a stall (SIGSTOP), then SIGCONT", async () => {
    await throughOutage(
      async () => server.pause(),
      async () => server.resume(),
    )
  })
})
