// Session lifetime and device controls (issue 19): absoluteTimeout, creation and last-seen
// times, revokeOwner's `except`, and maxSessionsPerOwner with both of its answers, on a
// node-redis plain client and cluster and on ioredis, against real servers. An account page
// over HTTP (examples/account-page.ts) and the options close the file.

import type {AddressInfo} from "node:net"
import {setTimeout as delay} from "node:timers/promises"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import express from "express"
import session, {type SessionData} from "express-session"
import {createClient} from "redis"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {type AccountFields, accountRoutes} from "../examples/account-page.js"
import {
  isRedisSessionStoreError,
  RedisStore,
  type RedisStoreSettings,
  TooManySessionsError,
} from "../src/index.js"
import {load} from "./contract/merge.js"
import {Browser} from "./support/browser.js"
import {CLIENT_KINDS, type ClientKind, connectClient, type TestClient} from "./support/clients.js"
import {RawRedis} from "./support/raw-redis.js"
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedisServer,
  waitUntil,
} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

let server: RedisServer
let cluster: RedisCluster
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedisServer(), startCluster(3)])
})
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

const kind = (name: string) => CLIENT_KINDS.find((k) => k.name === name) as ClientKind
const ownerOf = (s: SessionData) => s.user?.id
const login = (id: number, maxAgeMs = 60_000) => makeSession(maxAgeMs, {user: {id, name: "u"}})
const createdAt = (s: SessionData | null) =>
  (s as {sessionCreatedAt?: number} | null)?.sessionCreatedAt

describe.each(["node-redis 6 client", "node-redis 6 cluster", "ioredis 6 client"])(
  "on a %s",
  (name) => {
    let connection: TestClient
    let raw: RawRedis
    beforeAll(async () => {
      connection = await connectClient(kind(name), {standalone: server, cluster})
      raw = new RawRedis(name.includes("cluster") ? cluster.nodes : [server])
    })
    afterAll(async () => connection?.close())

    const newStore = (settings: RedisStoreSettings = {}) => {
      const prefix = uniquePrefix("dev")
      return {store: new RedisStore(connection.client, {prefix, ...settings}), prefix}
    }

    describe("absoluteTimeout", () => {
      it("ends a session kept active by touch and by set at its absolute time; its TTL never reaches past it", async () => {
        const {store, prefix} = newStore({absoluteTimeout: 3})
        const key = `${prefix}busy`
        await store.set("busy", login(1))
        const created = createdAt(await store.get("busy")) as number
        expect(created).toBeGreaterThan(Date.now() - 1_000)
        let saves = 0
        // The user keeps working: a touch, then a save, about every half second.
        while ((await store.get("busy")) !== null) {
          const before = Date.now()
          const loaded = (await load(store, "busy")) as SessionData & {views?: number}
          if (saves % 2 === 0) await store.touch("busy", loaded)
          else await store.set("busy", {...loaded, views: saves})
          saves += 1
          const left = await raw.pttl(key)
          // PX counts from when Redis runs the command: its trip there may add a few ms.
          if (left > 0) expect(left).toBeLessThanOrEqual(created + 3_000 - before + 50)
          expect(saves).toBeLessThan(20)
          await delay(500)
        }
        expect(saves).toBeGreaterThanOrEqual(3)
        // Gone from Redis itself, not only hidden by get; and a late save does not revive it.
        expect(await raw.exists(key)).toBe(false)
        await store.set("busy", {...login(1), sessionCreatedAt: created} as SessionData)
        expect(await raw.exists(key)).toBe(false)
      })

      it("get and sessionsOf never return a session past its time, whatever its TTL in Redis", async () => {
        const {store, prefix} = newStore({absoluteTimeout: 60, owner: ownerOf})
        for (const sid of ["old", "odd", "future"]) await store.set(sid, login(4))
        const old = {...login(4), sessionCreatedAt: Date.now() - 61_000}
        await raw.set(`${prefix}old`, JSON.stringify(old), "PX", 60_000)
        await raw.set(`${prefix}odd`, JSON.stringify({...login(4), sessionCreatedAt: "soon"}))
        await raw.set(`${prefix}future`, JSON.stringify({...login(4), sessionCreatedAt: 9e15}))
        await store.set("fresh", login(4))
        await store.touch("old", {
          ...login(4),
          sessionCreatedAt: Date.now() - 61_000,
        } as SessionData)
        for (const sid of ["old", "odd", "future"]) expect(await store.get(sid)).toBeNull()
        expect((await store.sessionsOf(4)).map((s) => s.id)).toEqual(["fresh"])
        // The touch of the expired one removed it; the others stay for an operator to see.
        expect(await raw.exists(`${prefix}old`)).toBe(false)
        expect(await raw.exists(`${prefix}odd`)).toBe(true)
      })

      it("a session stored before creation times were kept gets one at its next save", async () => {
        const {store, prefix} = newStore({absoluteTimeout: 3600})
        await raw.set(`${prefix}legacy`, JSON.stringify(login(1)), "PX", 60_000)
        const loaded = await load(store, "legacy")
        expect(createdAt(loaded)).toBeUndefined()
        await store.touch("legacy", loaded)
        expect(createdAt(await store.get("legacy"))).toBeUndefined()
        const before = Date.now()
        await store.set("legacy", loaded)
        expect(createdAt(await store.get("legacy"))).toBeGreaterThanOrEqual(before)
      })
    })

    describe("creation and last-seen times", () => {
      it("the first write sets the creation time; saves, touches and merges keep it; a new id gets its own", async () => {
        const {store} = newStore({owner: ownerOf})
        const before = Date.now()
        await store.set("a", login(2))
        const after = Date.now()
        const first = createdAt(await store.get("a")) as number
        expect(first).toBeGreaterThanOrEqual(before)
        expect(first).toBeLessThanOrEqual(after)
        // Two requests that loaded it save one after the other (the second merges).
        const [one, two] = [await load(store, "a"), await load(store, "a")]
        await store.set("a", {...one, cart: [9]} as SessionData)
        await store.set("a", Object.assign(two, {views: 3}))
        await store.touch("a", await load(store, "a"))
        const stored = await store.get("a")
        expect(createdAt(stored)).toBe(first)
        expect(stored).toMatchObject({cart: [9], views: 3})
        // regenerate: a new id, a new session, a new creation time
        await waitUntil("the clock to move", async () => Date.now() > after)
        await store.set("b", login(2))
        expect(createdAt(await store.get("b"))).toBeGreaterThan(first)
      })

      it("sessionsOf gives each session's times, right within a second, and last seen moves with touch", async () => {
        const {store} = newStore({owner: ownerOf})
        const before = Date.now()
        await store.set("laptop", login(3))
        await store.set("phone", login(3))
        const after = Date.now()
        const listed = await store.sessionsOf(3)
        expect(listed.map((s) => s.id).sort()).toEqual(["laptop", "phone"])
        for (const device of listed) {
          expect(device.session.user?.id).toBe(3)
          for (const time of [device.createdAt, device.lastSeenAt]) {
            expect(time).toBeGreaterThanOrEqual(before)
            expect(time).toBeLessThanOrEqual(after)
          }
        }
        await waitUntil("the clock to move", async () => Date.now() > after + 5)
        const beforeTouch = Date.now()
        await store.touch("phone", await load(store, "phone"))
        const phone = (await store.sessionsOf(3)).find((s) => s.id === "phone")
        expect(phone?.lastSeenAt).toBeGreaterThanOrEqual(beforeTouch)
        expect(phone?.lastSeenAt).toBeLessThanOrEqual(Date.now())
        expect(phone?.createdAt).toBe(listed.find((s) => s.id === "phone")?.createdAt)
      })
    })

    describe("revokeOwner with except", () => {
      it("leaves exactly the sessions named; a late write of a revoked one stays dead", async () => {
        const {store} = newStore({owner: ownerOf})
        for (const sid of ["here", "a", "b", "c"]) await store.set(sid, login(6))
        await store.set("someone-else", login(7))
        const late = await load(store, "a")
        expect(await store.revokeOwner(6, {except: ["here"]})).toBe(3)
        expect((await store.sessionsOf(6)).map((s) => s.id)).toEqual(["here"])
        await store.set("a", late)
        await store.touch("b", late)
        for (const sid of ["a", "b", "c"]) expect(await store.get(sid)).toBeNull()
        expect(await store.get("here")).not.toBeNull()
        expect(await store.get("someone-else")).not.toBeNull()
        expect(await store.revokeOwner(6, {except: new Set(["here"])})).toBe(0)
        for (const bad of ["here", [""], [5], 7]) {
          await expect(store.revokeOwner(6, {except: bad as never})).rejects.toThrow(TypeError)
        }
        expect(await store.get("here")).not.toBeNull()
      })
    })

    describe("maxSessionsPerOwner", () => {
      it('"revokeOldest": a third login ends the least recently seen, for good', async () => {
        const {store, prefix} = newStore({owner: ownerOf, maxSessionsPerOwner: 2})
        await store.set("first", login(8))
        await store.set("second", login(8))
        const lateFirst = await load(store, "first")
        // The first is used again: the second is now the least recently seen.
        await waitUntil(
          "the clock to move",
          async () => Date.now() > (createdAt(lateFirst) ?? 0) + 2,
        )
        await store.touch("first", lateFirst)
        const lateSecond = await load(store, "second")
        await store.set("third", login(8))
        expect((await store.sessionsOf(8)).map((s) => s.id).sort()).toEqual(["first", "third"])
        expect(await store.get("second")).toBeNull()
        expect(await raw.type(`${prefix}second`)).toBe("hash")
        // Its request still in flight cannot bring it back, nor push another one out; not
        // even before its tombstone lands (on a cluster, a step after the index decided):
        // that moment made long here by putting its value back in place of the tombstone.
        await store.set("second", lateSecond)
        expect(await store.get("second")).toBeNull()
        const key = `${prefix}second`
        await raw.onKey(key, "DEL", key)
        await raw.set(key, JSON.stringify(lateSecond), "PX", 60_000)
        await store.set("second", Object.assign(lateSecond, {note: "late write"}))
        await store.touch("second", lateSecond)
        expect(String(await raw.get(key))).not.toContain("late write")
        expect((await store.sessionsOf(8)).map((s) => s.id).sort()).toEqual(["first", "third"])
        // A session already counted is never refused or evicted for saving again.
        await store.set("first", lateFirst)
        expect((await store.sessionsOf(8)).length).toBe(2)
      })

      it('"refuse": a third login rejects with TooManySessionsError and nothing changes', async () => {
        const {store, prefix} = newStore({
          owner: ownerOf,
          maxSessionsPerOwner: 2,
          onTooManySessions: "refuse",
        })
        await store.set("one", login(9))
        await store.set("two", login(9))
        const error = await store.set("three", login(9)).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(TooManySessionsError)
        expect(isRedisSessionStoreError(error) && error.code).toBe("ETOOMANYSESSIONS")
        expect((error as TooManySessionsError).limit).toBe(2)
        expect(await raw.exists(`${prefix}three`)).toBe(false)
        expect((await store.sessionsOf(9)).map((s) => s.id).sort()).toEqual(["one", "two"])
        // A session that went without the index hearing of it no longer counts.
        await raw.onKey(`${prefix}two`, "DEL", `${prefix}two`)
        await store.set("three", login(9))
        expect((await store.sessionsOf(9)).map((s) => s.id).sort()).toEqual(["one", "three"])
        // After a logout there is room again.
        await store.destroy("one")
        await store.set("four", login(9))
        expect((await store.sessionsOf(9)).map((s) => s.id).sort()).toEqual(["four", "three"])
      })

      for (const onTooManySessions of ["revokeOldest", "refuse"] as const) {
        it(`10 simultaneous logins of one owner leave exactly 2 live sessions (${onTooManySessions})`, async () => {
          const {store} = newStore({owner: ownerOf, maxSessionsPerOwner: 2, onTooManySessions})
          const sids = Array.from({length: 10}, (_, i) => `at-once-${i}`)
          const results = await Promise.allSettled(sids.map((sid) => store.set(sid, login(10))))
          const live = (await Promise.all(sids.map((sid) => store.get(sid)))).filter(Boolean)
          expect(live).toHaveLength(2)
          expect(await store.sessionsOf(10)).toHaveLength(2)
          const refused = results.filter((r) => r.status === "rejected")
          if (onTooManySessions === "refuse") {
            expect(refused).toHaveLength(8)
            for (const r of refused)
              expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TooManySessionsError)
          } else {
            expect(refused).toHaveLength(0)
          }
        })
      }
    })
  },
)

describe("an account page over HTTP (examples/account-page.ts)", () => {
  it("lists the user's devices without their ids, and logs out the other devices", async () => {
    const client = createClient({url: server.url})
    await client.connect()
    const store = new RedisStore({
      client: client as never,
      prefix: uniquePrefix("account"),
      owner: (s) => (s as AccountFields).accountId,
    })
    const app = express()
    app.use(session({store, secret: "s", resave: false, saveUninitialized: false, name: "sid"}))
    app.post("/login/:device", (req, res) => {
      req.session.regenerate(() => {
        Object.assign(req.session, {accountId: 11, device: req.params.device})
        res.json({ok: true})
      })
    })
    app.get("/me", (req, res) =>
      res.json({accountId: (req.session as AccountFields).accountId ?? null}),
    )
    app.use("/account", accountRoutes(store))
    const http = app.listen(0, "127.0.0.1")
    await new Promise((resolve) => http.once("listening", resolve))
    try {
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
      const [laptop, phone] = [new Browser(base), new Browser(base)]
      await laptop.request("POST", "/login/laptop")
      await phone.request("POST", "/login/phone")
      const {body} = await laptop.request("GET", "/account/devices")
      const devices = body.devices as {device: string; current: boolean; signedInAt: string}[]
      expect(devices.map((d) => [d.device, d.current]).sort()).toEqual([
        ["laptop", true],
        ["phone", false],
      ])
      expect(devices.every((d) => !Number.isNaN(Date.parse(d.signedInAt)))).toBe(true)
      expect(JSON.stringify(body)).not.toContain(phone.sid)
      expect(JSON.stringify(body)).not.toContain(laptop.sid)
      expect((await laptop.request("POST", "/account/devices/log-out-others")).body).toEqual({
        ended: 1,
      })
      expect((await phone.request("GET", "/me")).body).toEqual({accountId: null})
      expect((await laptop.request("GET", "/me")).body).toEqual({accountId: 11})
    } finally {
      http.close()
      client.destroy()
    }
  })
})

describe("connect-redis and the creation time", () => {
  it("connect-redis still reads what the store writes, and sees the creation time as a field", async () => {
    const client = createClient({url: server.url})
    await client.connect()
    try {
      const prefix = uniquePrefix("compat")
      const store = new RedisStore({client: client as never, prefix, absoluteTimeout: 600})
      await store.set("shared", login(5))
      const theirs = new ConnectRedisStore({client, prefix})
      const read = await new Promise<SessionData | null | undefined>((resolve, reject) =>
        theirs.get("shared", (error, data) => (error ? reject(error) : resolve(data))),
      )
      expect(read?.user).toEqual({id: 5, name: "u"})
      expect(createdAt(read ?? null)).toBe(createdAt(await store.get("shared")))
    } finally {
      client.destroy()
    }
  })
})

describe("the options", () => {
  it("are checked before anything is built, with clear errors", () => {
    const build = (settings: RedisStoreSettings) => () =>
      new RedisStore({url: "redis://127.0.0.1:1", ...settings})
    for (const bad of [-1, "3", Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(build({absoluteTimeout: bad as never})).toThrow(/options\.absoluteTimeout must be/)
    }
    for (const bad of [0, 1.5, "2", -3]) {
      expect(build({owner: ownerOf, maxSessionsPerOwner: bad as never})).toThrow(
        /options\.maxSessionsPerOwner must be a positive integer/,
      )
    }
    expect(build({maxSessionsPerOwner: 2})).toThrow(/maxSessionsPerOwner needs the option owner/)
    expect(build({owner: ownerOf, onTooManySessions: "refuse"})).toThrow(
      /onTooManySessions needs options\.maxSessionsPerOwner/,
    )
    expect(
      build({owner: ownerOf, maxSessionsPerOwner: 2, onTooManySessions: "oldest" as never}),
    ).toThrow(/"revokeOldest" or "refuse"/)
  })
})
