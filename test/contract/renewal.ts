// The contract, part 8: one round trip for a request that changes nothing. The read renews
// the key (GETEX) to the life the store learned from its touches and saves; the touch that
// follows sends nothing when that already holds, and re-times without the value otherwise.
// A save of the same data (a framework without createSession, such as @fastify/session) is
// no rewrite. Expiry stays exact, logout stays final.
//
// Each test calls the store as express-session does: get, then the Session's own touch
// (a new expiry from now), then store.touch with it.

import type {SessionData} from "express-session"
import {describe, expect, it} from "vitest"
import {makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

const MAX_AGE_MS = 60_000
/** How far below the cookie's maxAge a renewed key's life may be: the tolerance, and a trip. */
const SLACK_MS = 1_500

/** What express-session does to a loaded session before touch: a new expiry from now. */
function rolled(session: SessionData, maxAgeMs = MAX_AGE_MS): SessionData {
  session.cookie.expires = new Date(Date.now() + maxAgeMs)
  return session
}

export function renewalContract(ctx: ContractContext): void {
  const {newStore} = ctx
  /** A re-time once first: a server that has not seen the script costs one more trip (NOSCRIPT). */
  const warmUp = (store: {touch(sid: string, session: SessionData): Promise<void>}) =>
    store.touch("warm-up", makeSession())

  describe("one round trip for an unmodified request", () => {
    it("the read renews the key and the touch sends nothing; the key lives the cookie's maxAge", async () => {
      const {store, prefix} = newStore()
      const key = `${prefix}a`
      await store.set("a", makeSession(MAX_AGE_MS))
      // As if the session had been idle for 40 s.
      await ctx.raw.onKey(key, "PEXPIRE", key, 20_000)
      let loaded: SessionData | null = null
      expect(
        await ctx.raw.commandsFor(prefix, async () => {
          loaded = await store.get("a")
          await store.touch("a", rolled(loaded as unknown as SessionData))
        }),
      ).toEqual(["GETEX"])
      const expires = (loaded as unknown as SessionData).cookie.expires as Date
      const left = await ctx.raw.pttl(key)
      expect(left).toBeGreaterThan(MAX_AGE_MS - SLACK_MS)
      // Never past the cookie's expiry.
      expect(Date.now() + left).toBeLessThanOrEqual(expires.getTime() + 5)
    })

    it("a touch the read's guess does not hold re-times the key, without sending it back", async () => {
      const {store, prefix} = newStore()
      const key = `${prefix}long`
      await store.set("short", makeSession(MAX_AGE_MS))
      await ctx.raw.set(key, JSON.stringify(makeSession(300_000)), "PX", 10_000)
      const loaded = (await store.get("long")) as SessionData
      await warmUp(store)
      expect(await ctx.raw.pttl(key)).toBeLessThanOrEqual(MAX_AGE_MS)
      const sent = await ctx.raw.commandsFor(prefix, () =>
        store.touch("long", rolled(loaded, 300_000)),
      )
      expect(sent).toEqual(["EVALSHA"])
      expect(await ctx.raw.pttl(key)).toBeGreaterThan(300_000 - SLACK_MS)
      // The guess follows: the next read gives what this touch gave.
      await store.get("long")
      expect(await ctx.raw.pttl(key)).toBeGreaterThan(300_000 - SLACK_MS)
    })

    it("a read whose guess is longer than the session's life is cut back by its touch", async () => {
      const {store, prefix} = newStore()
      const key = `${prefix}short`
      await store.set("long", makeSession(300_000))
      await store.set("short", makeSession(MAX_AGE_MS))
      await store.set("long", makeSession(300_000))
      const loaded = (await store.get("short")) as SessionData
      await store.touch("short", rolled(loaded))
      const expires = loaded.cookie.expires as Date
      expect(Date.now() + (await ctx.raw.pttl(key))).toBeLessThanOrEqual(expires.getTime() + 5)
    })

    it("a logged-out cookie's read neither revives nor lengthens the tombstone", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 30})
      const key = `${prefix}a`
      await store.set("a", makeSession(MAX_AGE_MS))
      const loaded = (await store.get("a")) as SessionData
      await store.destroy("a")
      const before = await ctx.raw.pttl(key)
      expect(await store.get("a")).toBeNull()
      await store.touch("a", rolled(loaded))
      expect(await ctx.raw.type(key)).toBe("hash")
      expect(await ctx.raw.pttl(key)).toBeLessThanOrEqual(before)
      expect(before).toBeLessThanOrEqual(30_000)
    })

    it("a read of a missing session creates nothing", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(MAX_AGE_MS))
      expect(await store.get("nobody")).toBeNull()
      expect(await ctx.raw.exists(`${prefix}nobody`)).toBe(false)
    })

    it("the first read of a store that has seen no session yet is a plain GET", async () => {
      const {store, prefix} = newStore()
      await ctx.raw.set(`${prefix}a`, JSON.stringify(makeSession(MAX_AGE_MS)), "PX", 20_000)
      expect(await ctx.raw.commandsFor(prefix, () => store.get("a"))).toEqual(["GET"])
      expect(await ctx.raw.pttl(`${prefix}a`)).toBeLessThanOrEqual(20_000)
    })

    it.each([
      ["disableTouch", {disableTouch: true}],
      ["disableTTL", {disableTTL: true}],
      ["absoluteTimeout", {absoluteTimeout: 3600}],
    ] as const)("%s: reads never extend a session's life", async (_, settings) => {
      const {store, prefix} = newStore(settings)
      const key = `${prefix}a`
      await store.set("a", makeSession(MAX_AGE_MS))
      await ctx.raw.onKey(key, "PEXPIRE", key, 20_000)
      expect(await ctx.raw.commandsFor(prefix, () => store.get("a"))).toEqual(["GET"])
      expect(await ctx.raw.pttl(key)).toBeLessThanOrEqual(20_000)
    })

    it("absoluteTimeout: a read and touch never push the key past creation + limit", async () => {
      const {store, prefix} = newStore({absoluteTimeout: 30})
      const key = `${prefix}a`
      await store.set("a", makeSession(MAX_AGE_MS))
      const created = ((await store.get("a")) as SessionData).sessionCreatedAt as number
      const loaded = (await store.get("a")) as SessionData
      await store.touch("a", rolled(loaded))
      expect(Date.now() + (await ctx.raw.pttl(key))).toBeLessThanOrEqual(created + 30_000 + 5)
    })

    it("a ttl function still decides: its answer is what the key lives", async () => {
      const {store, prefix} = newStore({ttl: (session) => (session.views === 1 ? 500 : 100)})
      await store.set("a", makeSession(MAX_AGE_MS, {views: 1}))
      await store.set("b", makeSession(MAX_AGE_MS, {views: 2}))
      for (const [sid, seconds] of [
        ["a", 500],
        ["b", 100],
        ["a", 500],
      ] as const) {
        const loaded = (await store.get(sid)) as SessionData
        await store.touch(sid, rolled(loaded))
        const left = await ctx.raw.pttl(`${prefix}${sid}`)
        expect(left).toBeGreaterThan(seconds * 1000 - SLACK_MS)
        expect(left).toBeLessThanOrEqual(seconds * 1000)
      }
    })

    it("owner index: a covered touch still keeps lastSeenAt current, without re-timing", async () => {
      const {store, prefix} = newStore({owner: (session) => session.user?.id})
      await store.set("a", makeSession(MAX_AGE_MS))
      const [before] = await store.sessionsOf(7)
      const loaded = (await store.get("a")) as SessionData
      const sent = await ctx.raw.commandsFor(prefix, () => store.touch("a", rolled(loaded)))
      expect(sent).not.toContain("GETEX")
      expect(sent).not.toContain("PEXPIRE")
      const [after] = await store.sessionsOf(7)
      expect(after?.lastSeenAt).toBeGreaterThanOrEqual(before?.lastSeenAt as number)
      expect(after?.lastSeenAt).toBeGreaterThan(0)
    })
  })

  describe("a save of what was read (no createSession: @fastify/session, scripts)", () => {
    /** As @fastify/session does: a new object of the read's fields, its own cookie. */
    const rebuilt = (read: SessionData, maxAgeMs = MAX_AGE_MS) =>
      ({
        ...read,
        cookie: {...read.cookie, expires: new Date(Date.now() + maxAgeMs)},
      }) as SessionData

    it("an unchanged save sends nothing when the read renewed the key", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(MAX_AGE_MS, {views: 3}))
      const sent = await ctx.raw.commandsFor(prefix, async () => {
        const read = (await store.get("a")) as SessionData
        await store.set("a", rebuilt(read))
      })
      expect(sent).toEqual(["GETEX"])
      expect(await ctx.raw.pttl(`${prefix}a`)).toBeGreaterThan(MAX_AGE_MS - SLACK_MS)
    })

    it("an unchanged save re-times (no value sent) when the read's guess did not hold", async () => {
      const {store, prefix} = newStore()
      const key = `${prefix}a`
      await store.set("a", makeSession(MAX_AGE_MS, {views: 3}))
      const read = (await store.get("a")) as SessionData
      await warmUp(store)
      const sent = await ctx.raw.commandsFor(prefix, () => store.set("a", rebuilt(read, 300_000)))
      expect(sent).toEqual(["EVALSHA"])
      expect(await ctx.raw.pttl(key)).toBeGreaterThan(300_000 - SLACK_MS)
      expect(JSON.parse(String(await ctx.raw.get(key))).views).toBe(3)
    })

    it("a changed save is written as before", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(MAX_AGE_MS, {views: 3}))
      const read = (await store.get("a")) as SessionData
      await store.set("a", {...rebuilt(read), views: 4} as SessionData)
      expect(JSON.parse(String(await ctx.raw.get(`${prefix}a`))).views).toBe(4)
    })

    it("a save whose cookie changed more than its expiry (a new maxAge) is written", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(MAX_AGE_MS, {views: 3}))
      const read = (await store.get("a")) as SessionData
      const remembered = rebuilt(read, 30 * 86_400_000)
      remembered.cookie.originalMaxAge = 30 * 86_400_000
      await store.set("a", remembered)
      const stored = JSON.parse(String(await ctx.raw.get(`${prefix}a`)))
      expect(stored.cookie.originalMaxAge).toBe(30 * 86_400_000)
      expect(await ctx.raw.pttl(`${prefix}a`)).toBeGreaterThan(30 * 86_400_000 - SLACK_MS)
    })

    it("a save after the session was destroyed stays refused", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(MAX_AGE_MS, {views: 3}))
      const read = (await store.get("a")) as SessionData
      await store.destroy("a")
      await store.set("a", rebuilt(read))
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      expect(await store.get("a")).toBeNull()
    })
  })
}
