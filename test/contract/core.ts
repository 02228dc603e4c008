// The contract, part 1: get, set, TTL, touch, destroy, callbacks and promises.

import type {SessionData} from "express-session"
import {describe, expect, it, vi} from "vitest"
import {RedisStore, type RedisStoreSettings} from "../../src/index.js"
import {asStored, makeSession, uniquePrefix} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

export function coreContract(ctx: ContractContext): void {
  const {newStore, neighbours} = ctx

  describe("get / set", () => {
    it("returns null for a session that does not exist", async () => {
      const {store} = newStore()
      expect(await store.get("missing")).toBeNull()
    })

    it("stores at prefix + sid and reads the session back", async () => {
      const {store, prefix} = newStore()
      const session = makeSession()
      await store.set("abc", session)
      expect(await store.get("abc")).toEqual(asStored(session))
      expect(JSON.parse(String(await ctx.raw.get(`${prefix}abc`)))).toEqual(asStored(session))
    })

    it("reads sessions written by connect-redis (same key layout and JSON)", async () => {
      const prefix = uniquePrefix()
      const written = asStored(makeSession())
      await ctx.raw.set(`${prefix}legacy`, JSON.stringify(written), "EX", 600)
      const store = new RedisStore({client: ctx.connection.client, prefix})
      expect(await store.get("legacy")).toEqual(written)
    })

    it("uses the default prefix sess:", async () => {
      const store = new RedisStore(ctx.connection.client)
      const sid = uniquePrefix("default").slice(0, -1)
      await store.set(sid, makeSession())
      expect(await ctx.raw.exists(`sess:${sid}`)).toBe(true)
      await store.destroy(sid)
      expect(await ctx.raw.type(`sess:${sid}`)).toBe("hash")
      expect(await store.get(sid)).toBeNull()
    })

    it("overwrites a session on set", async () => {
      const {store} = newStore()
      await store.set("s", makeSession(60_000, {views: 1}))
      await store.set("s", makeSession(60_000, {views: 2}))
      expect((await store.get("s"))?.views).toBe(2)
    })

    it("keeps data that JSON can carry exactly (unicode, nesting, empty values)", async () => {
      const {store} = newStore()
      const session = makeSession(60_000, {
        user: {id: 1, name: 'Zoë 🚀 \u0000 "quoted" \n line'},
        cart: [],
      })
      await store.set("u", session)
      expect(await store.get("u")).toEqual(asStored(session))
    })
  })

  describe("TTL", () => {
    it("follows cookie.expires, rounded up to whole seconds", async () => {
      const {store, prefix} = newStore({ttl: 5})
      await store.set("a", makeSession(90_500))
      const ttl = await ctx.raw.ttl(`${prefix}a`)
      expect(ttl).toBeGreaterThanOrEqual(89)
      expect(ttl).toBeLessThanOrEqual(91)
    })

    it("accepts cookie.expires as a string, as a session read back from JSON has it", async () => {
      const {store, prefix} = newStore()
      await store.set("a", asStored(makeSession(120_000)) as SessionData)
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(100)
    })

    it("uses the ttl option when the cookie has no expires", async () => {
      const {store, prefix} = newStore({ttl: 600})
      await store.set("a", makeSession(null))
      const ttl = await ctx.raw.ttl(`${prefix}a`)
      expect(ttl).toBeGreaterThan(590)
      expect(ttl).toBeLessThanOrEqual(600)
    })

    it("defaults to one day when the cookie has no expires", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(null))
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(86_000)
    })

    it("lets a ttl function decide, with the session as argument", async () => {
      const ttl = vi.fn((session: SessionData) => (session.user ? 1000 : 10))
      const {store, prefix} = newStore({ttl})
      const session = makeSession(60_000)
      await store.set("a", session)
      expect(ttl).toHaveBeenCalledWith(session)
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(990)
    })

    it("keeps a fractional ttl to the millisecond (1.5 s is 1500 ms, not 2 s)", async () => {
      const {store, prefix} = newStore({ttl: () => 1.5})
      await store.set("a", makeSession())
      const left = await ctx.raw.pttl(`${prefix}a`)
      expect(left).toBeGreaterThan(1_000)
      expect(left).toBeLessThanOrEqual(1_500)
    })

    it("expires with the cookie to the millisecond: maxAge 50 ms is not rounded up to a second", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(50))
      const left = await ctx.raw.pttl(`${prefix}a`)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(50)
      await store.touch("a", makeSession(50))
      expect(await ctx.raw.pttl(`${prefix}a`)).toBeLessThanOrEqual(50)
      await vi.waitFor(async () => expect(await ctx.raw.exists(`${prefix}a`)).toBe(false), {
        timeout: 5_000,
        interval: 10,
      })
      expect(await store.get("a")).toBeNull()
    })

    it.each([
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["a string", "60"],
      ["undefined", undefined],
    ])("rejects a ttl function returning %s and writes nothing", async (_, value) => {
      const {store, prefix} = newStore({ttl: () => value as number})
      await ctx.raw.set(`${prefix}a`, "previous")
      await expect(store.set("a", makeSession())).rejects.toThrow(/ttl function must return/)
      await expect(store.set("b", makeSession())).rejects.toThrow(TypeError)
      expect(await ctx.raw.get(`${prefix}a`)).toBe("previous")
      expect(await ctx.raw.exists(`${prefix}b`)).toBe(false)
    })

    it("rejects a ttl function that throws, leaving the session as it was", async () => {
      const {store, prefix} = newStore({
        ttl: () => {
          throw new Error("policy down")
        },
      })
      await ctx.raw.set(`${prefix}a`, "previous")
      await expect(store.set("a", makeSession())).rejects.toThrow("policy down")
      expect(await ctx.raw.get(`${prefix}a`)).toBe("previous")
    })

    it.each([
      ["an unparsable string", "not a date"],
      ["an Invalid Date", new Date(Number.NaN)],
      ["a boolean", true],
    ])("rejects cookie.expires that is %s and keeps the stored session", async (_, expires) => {
      const {store, prefix} = newStore()
      await ctx.raw.set(`${prefix}a`, "previous", "EX", 600)
      const session = makeSession()
      ;(session.cookie as unknown as {expires: unknown}).expires = expires
      await expect(store.set("a", session)).rejects.toThrow(/cookie.expires is not a valid date/)
      await expect(store.touch("a", session)).rejects.toThrow(/cookie.expires/)
      expect(await ctx.raw.get(`${prefix}a`)).toBe("previous")
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(590)
    })

    it("deletes the session on set when its cookie has already expired", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession())
      await store.set("a", makeSession(-5_000))
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
    })

    it.each([0, -10])("deletes the session when the ttl function returns %s", async (value) => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession())
      const ending = new RedisStore(ctx.connection.client, {prefix, ttl: () => value})
      await ending.set("a", makeSession())
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
    })

    it("writes no expiry with disableTTL", async () => {
      const {store, prefix} = newStore({disableTTL: true})
      await store.set("a", makeSession())
      expect(await ctx.raw.ttl(`${prefix}a`)).toBe(-1)
    })
  })

  describe("touch", () => {
    it("re-times an existing session", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(30_000))
      await store.touch("a", makeSession(500_000))
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(490)
    })

    it("never creates a session that does not exist", async () => {
      const {store, prefix} = newStore()
      await store.touch("gone", makeSession())
      expect(await ctx.raw.exists(`${prefix}gone`)).toBe(false)
    })

    it("leaves the stored data as it was", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(60_000, {views: 1}))
      const before = await ctx.raw.get(`${prefix}a`)
      await store.touch("a", makeSession(60_000, {views: 99}))
      expect(await ctx.raw.get(`${prefix}a`)).toBe(before)
    })

    it("deletes the session when its TTL is over", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession())
      await store.touch("a", makeSession(-1_000))
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
    })

    it.each([
      ["disableTouch", {disableTouch: true}],
      ["disableTTL", {disableTTL: true}],
    ])("does nothing with %s", async (_, settings) => {
      const {store, prefix} = newStore(settings)
      await store.set("a", makeSession(30_000))
      const ttl = await ctx.raw.ttl(`${prefix}a`)
      await store.touch("a", makeSession(500_000))
      expect(await ctx.raw.ttl(`${prefix}a`)).toBe(ttl)
    })
  })

  describe("destroy", () => {
    it("removes the session and nothing else", async () => {
      const {store, prefix} = newStore()
      const others = await neighbours(prefix)
      await store.set("a", makeSession())
      await store.set("b", makeSession())
      await store.destroy("a")
      expect(await store.get("a")).toBeNull()
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      expect(await ctx.raw.type(`${prefix}b`)).toBe("string")
      await others.expectUntouched()
    })

    it("with tombstoneSeconds: 0, deletes the key and leaves nothing behind", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 0})
      await store.set("a", makeSession())
      await store.destroy("a")
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
    })

    it("succeeds for a session that does not exist", async () => {
      const {store} = newStore()
      await expect(store.destroy("never")).resolves.toBeUndefined()
    })
  })

  describe("callbacks and promises", () => {
    it("gives every method's result to its callback and to its promise", async () => {
      const {store} = newStore()
      const session = makeSession()
      const viaCallback = <T>(run: (cb: (err: unknown, value?: T) => void) => unknown) =>
        new Promise<[unknown, T | undefined]>((resolve) => {
          run((err, value) => resolve([err, value]))
        })
      expect(await viaCallback((cb) => store.set("a", session, cb))).toEqual([null, undefined])
      expect(await viaCallback((cb) => store.get("a", cb))).toEqual([null, asStored(session)])
      expect(await viaCallback((cb) => store.touch("a", session, cb))).toEqual([null, undefined])
      expect(await viaCallback((cb) => store.length(cb))).toEqual([null, 1])
      expect(await viaCallback((cb) => store.ids(cb))).toEqual([null, ["a"]])
      expect(await viaCallback((cb) => store.all(cb))).toEqual([
        null,
        [{...(asStored(session) as object), id: "a"}],
      ])
      expect(await viaCallback((cb) => store.destroy("a", cb))).toEqual([null, undefined])
      expect(await viaCallback((cb) => store.clear(cb))).toEqual([null, undefined])
      expect(await store.length()).toBe(0)
    })

    it("sends an error to the callback only: the promise resolves, nothing throws", async () => {
      const {store} = newStore()
      const callback = vi.fn()
      const result = store.get("", callback)
      await expect(result).resolves.toBeUndefined()
      expect(callback).toHaveBeenCalledTimes(1)
      expect(callback.mock.calls[0]?.[0]).toBeInstanceOf(TypeError)
    })

    it("a callback hears after the call returned; its promise resolves after it", async () => {
      const order: string[] = []
      const note = (what: string) => () => order.push(what)
      const check = async (
        settings: RedisStoreSettings,
        run: (store: RedisStore) => Promise<unknown>,
      ) => {
        order.length = 0
        const done = run(newStore(settings).store).then(note("promise"))
        order.push("returned")
        await done
        expect(order).toEqual(["returned", "callback", "promise"])
      }
      const session = makeSession()
      await check({}, (store) => store.get("none", note("callback")))
      await check({}, (store) => store.set("a", session, note("callback")))
      await check({}, (store) => store.touch("a", session, note("callback")))
      await check({disableTouch: true}, (store) => store.touch("a", session, note("callback")))
      await check({}, (store) => store.get("", note("callback")))
      await check({}, (store) => store.set("a", 5 as never, note("callback")))
    })

    it("an async serializer: a callback gets the session itself, a tombstone null", async () => {
      const {store} = newStore({
        serializer: {
          parse: async (text) => JSON.parse(text),
          stringify: async (value) => JSON.stringify(value),
        },
      })
      const session = makeSession()
      const heard = (run: (cb: (err: unknown, value?: unknown) => void) => unknown) =>
        new Promise<[unknown, unknown]>((resolve) => {
          run((err, value) => resolve([err, value]))
        })
      expect(await heard((cb) => store.set("a", session, cb))).toEqual([null, undefined])
      expect(await heard((cb) => store.get("a", cb))).toEqual([null, asStored(session)])
      await store.destroy("a")
      expect(await heard((cb) => store.get("a", cb))).toEqual([null, null])
      expect(await heard((cb) => store.touch("a", session, cb))).toEqual([null, undefined])
      expect(await heard((cb) => store.set("a", session, cb))).toEqual([null, undefined])
      expect(await store.get("a")).toBeNull()
    })

    it("rejects the promise when no callback is given", async () => {
      const {store} = newStore()
      await expect(store.get("")).rejects.toThrow(TypeError)
    })
  })
}
