// The contract, part 4: logout is final (tombstones), and touchAfter.
//
// "Late" writes stand for a request that loaded the session before the logout and saves or
// touches it after: express-session then calls set/touch with the session it loaded.

import type {SessionData} from "express-session"
import {describe, expect, it, vi} from "vitest"
import type {CorruptSessionError} from "../../src/index.js"
import {asStored, makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

/** What express-session does to a loaded session before touch: a new expiry from now. */
function rolled(session: SessionData, maxAgeMs: number): SessionData {
  session.cookie.expires = new Date(Date.now() + maxAgeMs)
  return session
}

export function logoutContract(ctx: ContractContext): void {
  const {newStore} = ctx

  describe("logout is final (tombstones)", () => {
    it("a late set after destroy changes nothing, and is not an error", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(60_000, {views: 1}))
      const loaded = (await store.get("a")) as SessionData
      await store.destroy("a")
      loaded.views = 2
      await expect(store.set("a", loaded)).resolves.toBeUndefined()
      expect(await store.get("a")).toBeNull()
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      const ttl = await ctx.raw.ttl(`${prefix}a`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(300)
    })

    it("a late touch neither revives the session nor keeps the tombstone alive", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 30})
      await store.set("a", makeSession())
      await store.destroy("a")
      await expect(store.touch("a", makeSession(500_000))).resolves.toBeUndefined()
      await store.touch("a", makeSession(-1_000))
      await store.set("a", makeSession(-1_000))
      expect(await store.get("a")).toBeNull()
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      const ttl = await ctx.raw.ttl(`${prefix}a`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(30)
    })

    it("clear() is final for every session it removed, and new sessions still work", async () => {
      const {store} = newStore({scanCount: 2})
      const sids = ["a", "b", "c", "d", "e"]
      for (const sid of sids) await store.set(sid, makeSession())
      const loaded = await Promise.all(sids.map((sid) => store.get(sid)))
      await store.clear()
      for (const [i, sid] of sids.entries()) await store.set(sid, loaded[i] as SessionData)
      for (const sid of sids) await store.touch(sid, makeSession(500_000))
      for (const sid of sids) expect(await store.get(sid)).toBeNull()
      expect(await store.length()).toBe(0)
      await store.set("fresh", makeSession())
      expect(await store.ids()).toEqual(["fresh"])
    })

    it("a tombstone lasts tombstoneSeconds, then the id is free again", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 1})
      await store.set("a", makeSession())
      await store.destroy("a")
      expect(await ctx.raw.ttl(`${prefix}a`)).toBe(1)
      await vi.waitFor(async () => expect(await ctx.raw.exists(`${prefix}a`)).toBe(false), {
        timeout: 5_000,
        interval: 50,
      })
      await store.set("a", makeSession(60_000, {views: 7}))
      expect((await store.get("a"))?.views).toBe(7)
    })

    it("destroying again renews the tombstone", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 60})
      await store.destroy("a")
      await ctx.raw.onKey(`${prefix}a`, "EXPIRE", `${prefix}a`, 2)
      await store.destroy("a")
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(50)
    })

    it("tombstoneSeconds: 0 keeps connect-redis's behaviour (a late set revives)", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 0})
      await store.set("a", makeSession())
      await store.destroy("a")
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
      await store.set("a", makeSession(60_000, {views: 4}))
      expect((await store.get("a"))?.views).toBe(4)
    })

    it("tombstones are never counted, listed or returned; length and ids read no value", async () => {
      const {store, prefix} = newStore()
      for (const sid of ["a", "b", "c", "gone1", "gone2"]) await store.set(sid, makeSession())
      await store.destroy("gone1")
      await store.destroy("gone2")
      await store.destroy("never-existed")
      const sent = await ctx.raw.commandsFor(prefix, async () => {
        expect(await store.length()).toBe(3)
        expect((await store.ids()).sort()).toEqual(["a", "b", "c"])
      })
      expect(new Set(sent)).toEqual(new Set(["SCAN"]))
      expect((await store.all()).map((session) => session.id).sort()).toEqual(["a", "b", "c"])
    })

    it("sessions written by connect-redis are touched, rewritten and destroyed as ours", async () => {
      const {store, prefix} = newStore()
      const legacy = asStored(makeSession())
      await ctx.raw.set(`${prefix}old`, JSON.stringify(legacy), "EX", 60)
      await store.touch("old", makeSession(500_000))
      expect(await ctx.raw.ttl(`${prefix}old`)).toBeGreaterThan(490)
      expect(await store.get("old")).toEqual(legacy)
      await store.set("old", makeSession(60_000, {views: 9}))
      expect((await store.get("old"))?.views).toBe(9)
      await store.destroy("old")
      await store.set("old", makeSession())
      expect(await store.get("old")).toBeNull()
    })

    it("leaves a key of another type at a session's key alone, in every method", async () => {
      const {store, prefix} = newStore()
      await ctx.raw.onKey(`${prefix}list`, "RPUSH", `${prefix}list`, "x")
      await ctx.raw.onKey(`${prefix}hash`, "HSET", `${prefix}hash`, "field", "y")
      for (const sid of ["list", "hash"]) {
        expect(await store.get(sid)).toBeNull()
        await store.set(sid, makeSession())
        await store.touch(sid, makeSession())
        await store.destroy(sid)
      }
      await store.clear()
      expect(await ctx.raw.onKey(`${prefix}list`, "LRANGE", `${prefix}list`, 0, -1)).toEqual(["x"])
      expect(await ctx.raw.onKey(`${prefix}hash`, "HGETALL", `${prefix}hash`)).toEqual([
        "field",
        "y",
      ])
      expect(await ctx.raw.ttl(`${prefix}list`)).toBe(-1)
      expect(await ctx.raw.ttl(`${prefix}hash`)).toBe(-1)
    })
  })

  describe("touchAfter", () => {
    it("skips a touch that would push the expiry later by less than touchAfter: no command", async () => {
      const {store, prefix} = newStore({touchAfter: 60})
      await store.set("a", makeSession(300_000))
      const loaded = rolled((await store.get("a")) as SessionData, 300_000)
      expect(await ctx.raw.commandsFor(prefix, () => store.touch("a", loaded))).toEqual([])
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeLessThanOrEqual(300)
    })

    it("touches when the expiry would move by touchAfter or more", async () => {
      const {store, prefix} = newStore({touchAfter: 60})
      await store.set("a", makeSession(100_000))
      const loaded = rolled((await store.get("a")) as SessionData, 300_000)
      expect(await ctx.raw.commandsFor(prefix, () => store.touch("a", loaded))).toEqual(["EVALSHA"])
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(290)
    })

    it("never lets a session outlive its cookie: a shorter expiry is always applied", async () => {
      const {store, prefix} = newStore({touchAfter: 3600})
      await store.set("a", makeSession(300_000))
      const loaded = rolled((await store.get("a")) as SessionData, 100_000)
      await store.touch("a", loaded)
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeLessThanOrEqual(100)
    })

    it("touches a session whose expiry in Redis it has not read", async () => {
      const {store, prefix} = newStore({touchAfter: 3600})
      await store.set("a", makeSession(100_000))
      await store.touch("a", makeSession(300_000))
      expect(await ctx.raw.ttl(`${prefix}a`)).toBeGreaterThan(290)
    })

    it("never stores the expiry it carries from get to touch", async () => {
      const {store, prefix} = newStore({touchAfter: 60})
      await store.set("a", makeSession(60_000, {views: 1}))
      const loaded = (await store.get("a")) as SessionData
      expect(Object.keys(loaded.cookie)).toContain("expiresInStore")
      await store.set("a", loaded)
      const stored = JSON.parse(String(await ctx.raw.get(`${prefix}a`)))
      expect(Object.keys(stored.cookie)).not.toContain("expiresInStore")
      expect((await store.get("a"))?.views).toBe(1)
    })

    it("reads no session for a missing id, a tombstone or a corrupted value", async () => {
      const {store, prefix} = newStore({touchAfter: 60})
      expect(await store.get("missing")).toBeNull()
      await store.set("a", makeSession())
      const loaded = rolled((await store.get("a")) as SessionData, 3_600_000)
      await store.destroy("a")
      expect(await store.get("a")).toBeNull()
      await store.touch("a", loaded)
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      await ctx.raw.set(`${prefix}bad`, "{oops")
      const reported: CorruptSessionError[] = []
      store.on("corrupt", (error: CorruptSessionError) => reported.push(error))
      expect(await store.get("bad")).toBeNull()
      expect(reported.map((error) => error.sid)).toEqual(["bad"])
    })
  })
}
