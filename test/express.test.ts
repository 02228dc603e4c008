// express-session over real HTTP, on a real Redis, for each standalone client kind.

import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore} from "../src/index.js"
import {Browser} from "./support/browser.js"
import {CLIENT_KINDS, connectClient, type TestClient} from "./support/clients.js"
import {expressApp, listen} from "./support/express-app.js"
import {RawRedis} from "./support/raw-redis.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

/** A promise settled from outside (Promise.withResolvers needs Node 22). */
function deferred() {
  let resolve: () => void = () => {}
  const promise = new Promise<void>((settle) => {
    resolve = settle
  })
  return {promise, resolve}
}

/** A request parked in the middle of its handler, its session loaded, until released. */
class SlowRequest {
  readonly arrived = deferred()
  readonly release = deferred()
}

function createApp(store: RedisStore, slow: {current?: SlowRequest} = {}) {
  const app = expressApp(store, {rolling: true})
  app.post("/regenerate", (req, res, next) => {
    const user = req.session.user
    req.session.regenerate((error) => {
      if (error) return next(error)
      if (user) req.session.user = user
      res.json({ok: true})
    })
  })
  // Loads the session, waits for the test to release it, then changes it (express-session
  // calls set) or only reads it (express-session calls touch).
  app.post("/slow/:action", async (req, res) => {
    const gate = slow.current
    if (!gate) throw new Error("no slow request prepared")
    gate.arrived.resolve()
    await gate.release.promise
    if (req.params.action === "change") req.session.views = (req.session.views ?? 0) + 100
    res.json({user: req.session.user ?? null})
  })
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ok: true})))
  })
  return app
}

describe.each(CLIENT_KINDS.filter((kind) => kind.topology === "standalone"))(
  "express-session with a $name",
  (kind) => {
    let server: RedisServer
    let connection: TestClient
    let raw: RawRedis
    let http: import("node:http").Server
    let prefix: string
    let base: string
    const slow: {current?: SlowRequest} = {}

    beforeAll(async () => {
      server = await startRedisServer()
      connection = await connectClient(kind, {standalone: server})
      raw = new RawRedis([server])
      prefix = uniquePrefix("web")
      ;({http, base} = await listen(
        createApp(new RedisStore({client: connection.client, prefix}), slow),
      ))
    })
    afterAll(async () => {
      await new Promise((resolve) => http?.close(resolve))
      await connection?.close()
      await server?.stop()
    })

    it("logs in and keeps the session across requests", async () => {
      const browser = new Browser(base)
      expect((await browser.request("POST", "/login")).status).toBe(200)
      expect(browser.cookie).toBeDefined()
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      await browser.request("POST", "/count")
      expect((await browser.request("POST", "/count")).body.views).toBe(2)
      expect((await browser.request("GET", "/me")).body.views).toBe(2)
      const ttl = await raw.ttl(prefix + browser.sid)
      expect(ttl).toBeGreaterThan(50)
      expect(ttl).toBeLessThanOrEqual(60)
    })

    it("keeps an unchanged session alive through touch (rolling, resave: false)", async () => {
      const browser = new Browser(base)
      await browser.request("POST", "/login")
      const key = prefix + browser.sid
      const stored = await raw.get(key)
      await raw.onKey(key, "EXPIRE", key, 5)
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
      expect(await raw.ttl(key)).toBeGreaterThan(50)
      expect(await raw.get(key)).toBe(stored)
    })

    it("regenerate ends the old session: the old cookie no longer works", async () => {
      const browser = new Browser(base)
      await browser.request("POST", "/login")
      const oldCookie = browser.cookie
      const oldSid = browser.sid
      await browser.request("POST", "/regenerate")
      expect(browser.sid).not.toBe(oldSid)
      expect(await raw.type(prefix + oldSid)).toBe("hash")
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})

      const thief = new Browser(base)
      thief.cookie = oldCookie
      expect((await thief.request("GET", "/me")).body.user).toBeNull()
      expect(await raw.type(prefix + oldSid)).toBe("hash")
    })

    it("logout is final: a tombstone holds the key and the cookie no longer works", async () => {
      const browser = new Browser(base)
      await browser.request("POST", "/login")
      const sid = browser.sid
      const cookie = browser.cookie
      await browser.request("POST", "/logout")
      expect(await raw.type(prefix + sid)).toBe("hash")
      const replay = new Browser(base)
      replay.cookie = cookie
      expect((await replay.request("GET", "/me")).body.user).toBeNull()
      await replay.request("POST", "/count")
      expect(await raw.type(prefix + sid)).toBe("hash")
    })

    /** A logged-in browser, and the gate its next slow request will wait at. */
    async function loggedInWithGate() {
      const browser = new Browser(base)
      await browser.request("POST", "/login")
      const gate = new SlowRequest()
      slow.current = gate
      return {browser, cookie: browser.cookie, sid: browser.sid, gate}
    }

    it.each([
      ["changes the session (set)", "change"],
      ["only reads the session (touch)", "read"],
    ])(
      "a slow request that %s while another logs out does not log the user back in",
      async (_, action) => {
        const {browser, cookie, sid, gate} = await loggedInWithGate()
        const inFlight = browser.request("POST", `/slow/${action}`)
        await gate.arrived.promise
        const otherTab = new Browser(base)
        otherTab.cookie = cookie
        await otherTab.request("POST", "/logout")
        gate.release.resolve()
        const late = await inFlight
        expect(late.status).toBe(200)
        expect(late.body.user).toEqual({id: 1, name: "Ada"})

        expect(await raw.type(prefix + sid)).toBe("hash")
        const replay = new Browser(base)
        replay.cookie = cookie
        expect((await replay.request("GET", "/me")).body.user).toBeNull()
      },
    )

    it("a slow request carrying the old id cannot bring it back after regenerate", async () => {
      const {browser, cookie: oldCookie, sid: oldSid, gate} = await loggedInWithGate()
      const slowTab = new Browser(base)
      slowTab.cookie = oldCookie
      const inFlight = slowTab.request("POST", "/slow/change")
      await gate.arrived.promise
      await browser.request("POST", "/regenerate")
      expect(browser.sid).not.toBe(oldSid)
      gate.release.resolve()
      expect((await inFlight).status).toBe(200)

      expect(await raw.type(prefix + oldSid)).toBe("hash")
      const thief = new Browser(base)
      thief.cookie = oldCookie
      expect((await thief.request("GET", "/me")).body.user).toBeNull()
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
    })

    it("a corrupted stored value gives the user a fresh session, not an error", async () => {
      const browser = new Browser(base)
      await browser.request("POST", "/login")
      await raw.set(prefix + browser.sid, '{"cookie": 42, "user": {"id": 666}}')
      const response = await browser.request("GET", "/me")
      expect(response.status).toBe(200)
      expect(response.body.user).toBeNull()
      await raw.set(prefix + browser.sid, "\u0000garbage")
      expect((await browser.request("POST", "/login")).status).toBe(200)
      expect((await browser.request("GET", "/me")).body.user).toEqual({id: 1, name: "Ada"})
    })

    it("touchAfter: an unchanged session is re-timed only when it would gain the window", async () => {
      const touchPrefix = uniquePrefix("web-ta")
      const store = new RedisStore({client: connection.client, prefix: touchPrefix, touchAfter: 30})
      const app = await listen(createApp(store))
      try {
        const browser = new Browser(app.base)
        await browser.request("POST", "/login")
        const key = touchPrefix + browser.sid
        // One full round first, so that Redis has both scripts cached (no NOSCRIPT below).
        await browser.request("GET", "/me")
        await raw.onKey(key, "EXPIRE", key, 20)
        await browser.request("GET", "/me")
        const sent = await raw.commandsFor(touchPrefix, () => browser.request("GET", "/me"))
        expect(sent).toEqual(["EVALSHA"]) // the read; the touch was skipped
        // As if 40 s went by: the expiry would now move by about 40 s, more than the window.
        await raw.onKey(key, "EXPIRE", key, 20)
        const later = await raw.commandsFor(touchPrefix, () => browser.request("GET", "/me"))
        expect(later).toEqual(["EVALSHA", "EVALSHA"]) // the read and the touch
        expect(await raw.ttl(key)).toBeGreaterThan(50)
        expect(JSON.parse(String(await raw.get(key))).cookie).not.toHaveProperty("expiresInStore")
      } finally {
        await new Promise((resolve) => app.http.close(resolve))
      }
    })
  },
)
