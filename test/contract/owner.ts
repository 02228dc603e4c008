// Revoking by owner (option `owner`): listing and ending one user's sessions through the
// per-owner index, on every client kind. The index is only trusted as far as the sessions
// themselves confirm it.

import type {SessionData} from "express-session"
import {describe, expect, it, vi} from "vitest"
import {encryptedSerializer, RedisStore} from "../../src/index.js"
import {makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

const ownerOf = (session: SessionData) => session.user?.id
const userSession = (id: number, maxAgeMs: number | null = 60_000) =>
  makeSession(maxAgeMs, {user: {id, name: `user ${id}`}})
function anonymous(): SessionData {
  const session = makeSession()
  delete session.user
  return session
}
const indexKey = (prefix: string, owner: string | number) => `owners:${prefix}${owner}`

export function ownerContract(ctx: ContractContext): void {
  const {newStore} = ctx

  describe("revoking by owner", () => {
    it("lists one owner's sessions across slots, revokes them at once, and others keep theirs", async () => {
      const {store, prefix} = newStore({owner: ownerOf, scanCount: 3})
      const others = await ctx.neighbours()
      const mine = Array.from({length: 8}, (_, i) => `mine-${i}`)
      await Promise.all(mine.map((sid) => store.set(sid, userSession(1))))
      await store.set("theirs-1", userSession(2))
      await store.set("theirs-2", userSession(2))
      await store.set("anon", anonymous())

      const listed = await store.sessionsOf(1)
      expect(listed.map((session) => session.id).sort()).toEqual([...mine].sort())
      expect(listed.every(({session}) => session.user?.id === 1)).toBe(true)

      expect(await store.revokeOwner(1)).toBe(8)
      expect(await ctx.raw.exists(indexKey(prefix, 1))).toBe(false)
      for (const sid of mine) expect(await store.get(sid)).toBeNull()
      expect(await store.sessionsOf(1)).toEqual([])
      expect((await store.sessionsOf(2)).map((session) => session.id).sort()).toEqual([
        "theirs-1",
        "theirs-2",
      ])
      expect(await store.get("anon")).not.toBeNull()

      // A request that loaded a session before the revoke and saves it after: still dead.
      await store.set("mine-0", userSession(1))
      await store.touch("mine-1", userSession(1))
      expect(await store.get("mine-0")).toBeNull()
      expect(await store.get("mine-1")).toBeNull()
      expect(await store.sessionsOf(1)).toEqual([])
      expect(await store.revokeOwner(1)).toBe(0)
      expect(await store.length()).toBe(3)
      await others.expectUntouched()
    })

    it("never counts or lists an index as a session, even under a prefix that covers it", async () => {
      const {store, prefix} = newStore({owner: ownerOf})
      await store.set("a", userSession(5))
      expect(await ctx.raw.type(indexKey(prefix, 5))).toBe("zset")
      const covering = new RedisStore(ctx.connection.client, {prefix: `owners:${prefix}`})
      expect(await covering.length()).toBe(0)
      expect(await covering.ids()).toEqual([])
      expect(await covering.all()).toEqual([])
      await covering.clear()
      expect(await ctx.raw.type(indexKey(prefix, 5))).toBe("zset")
      expect((await store.sessionsOf(5)).map((session) => session.id)).toEqual(["a"])
    })

    it("never reports an index entry whose session expired, was destroyed or changed hands", async () => {
      const {store, prefix} = newStore({owner: ownerOf})
      await store.set("short", userSession(3, 1_000))
      await store.set("kept", userSession(3))
      await store.set("destroyed", userSession(3))
      await store.set("handed", userSession(3))
      await store.destroy("destroyed")
      expect(
        await ctx.raw.onKey(indexKey(prefix, 3), "ZSCORE", indexKey(prefix, 3), "destroyed"),
      ).toBeNull()
      await store.set("handed", userSession(4))
      // An entry with no session behind it at all (written by hand, as a crash could leave).
      await ctx.raw.onKey(
        indexKey(prefix, 3),
        "ZADD",
        indexKey(prefix, 3),
        Date.now() + 60_000,
        "ghost",
      )
      await vi.waitFor(async () => expect(await ctx.raw.exists(`${prefix}short`)).toBe(false), {
        timeout: 10_000,
        interval: 50,
      })
      expect((await store.sessionsOf(3)).map((session) => session.id)).toEqual(["kept"])
      expect((await store.sessionsOf(4)).map((session) => session.id)).toEqual(["handed"])
      // The entries that failed the check were dropped on the way.
      const left = await ctx.raw.onKey(indexKey(prefix, 3), "ZRANGE", indexKey(prefix, 3), 0, -1)
      expect(left).toEqual(["kept"])
      expect(await store.revokeOwner(3)).toBe(1)
      expect(await store.get("handed")).not.toBeNull()
    })

    it("keeps the index as long as the owner's longest session, forever without TTL", async () => {
      const {store, prefix} = newStore({owner: ownerOf})
      await store.set("a", userSession(6, 60_000))
      await store.set("b", userSession(6, 600_000))
      const ttl = await ctx.raw.ttl(indexKey(prefix, 6))
      expect(ttl).toBeGreaterThan(590)
      expect(ttl).toBeLessThanOrEqual(600)
      await store.touch("a", userSession(6, 900_000))
      expect(await ctx.raw.ttl(indexKey(prefix, 6))).toBeGreaterThan(890)

      const forever = newStore({owner: ownerOf, disableTTL: true})
      await forever.store.set("c", userSession(6))
      expect(await ctx.raw.ttl(indexKey(forever.prefix, 6))).toBe(-1)
      expect((await forever.store.sessionsOf(6)).map((session) => session.id)).toEqual(["c"])
      expect(await forever.store.revokeOwner("6")).toBe(1)
      expect(await forever.store.get("c")).toBeNull()
    })

    it("refuses a bad owner clearly, and writes nothing for it", async () => {
      expect(() => newStore({owner: "user.id" as never})).toThrow(
        /options\.owner must be a function of the session; got a string/,
      )
      const {store, prefix} = newStore({owner: (session) => session.cart as never})
      await expect(store.set("a", makeSession())).rejects.toThrow(
        /options\.owner's result must be a non-empty string or a finite number; got an array/,
      )
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)

      const plain = newStore().store
      await expect(plain.sessionsOf(1)).rejects.toThrow(/sessionsOf\(\) needs the option owner/)
      await expect(plain.revokeOwner(1)).rejects.toThrow(/revokeOwner\(\) needs the option owner/)
      const owned = newStore({owner: ownerOf}).store
      for (const bad of [undefined, "", {}, Number.NaN]) {
        await expect(owned.sessionsOf(bad as never)).rejects.toThrow(TypeError)
        await expect(owned.revokeOwner(bad as never)).rejects.toThrow(TypeError)
      }
    })

    it("a wrong owner field (a typo) drops no index entry: they stay unconfirmed and revocable", async () => {
      const {store, prefix} = newStore({owner: ownerOf})
      for (const sid of ["a", "b", "c"]) await store.set(sid, userSession(42))
      // The same sessions seen through an owner function that finds nothing in them.
      const typo = newStore({prefix, owner: (session) => (session as {userid?: number}).userid})
      const unconfirmed: string[] = []
      const revoked = await typo.store.revokeOwner(42, {
        unconfirmed: (ids) => unconfirmed.push(...ids),
      })
      expect(revoked).toBe(0)
      expect(unconfirmed.sort()).toEqual(["a", "b", "c"])
      expect(await typo.store.sessionsOf(42)).toEqual([])
      expect(await ctx.raw.onKey(indexKey(prefix, 42), "ZCARD", indexKey(prefix, 42))).toBe(3)
      expect((await store.sessionsOf(42)).map((session) => session.id).sort()).toEqual([
        "a",
        "b",
        "c",
      ])
      expect(await store.revokeOwner(42)).toBe(3)
      expect(await store.get("a")).toBeNull()
    })

    it("sessions that cannot be read (encrypted, read without the secret) keep their index entries", async () => {
      const secret = "a secret of at least thirty-two characters"
      const {store, prefix} = newStore({
        owner: ownerOf,
        serializer: encryptedSerializer({secrets: [secret]}),
      })
      for (const sid of ["a", "b", "c"]) await store.set(sid, userSession(7))
      const blind = newStore({prefix, owner: ownerOf})
      blind.store.on("corrupt", () => {})
      const unconfirmed: string[] = []
      expect(
        await blind.store.revokeOwner(7, {unconfirmed: (ids) => unconfirmed.push(...ids)}),
      ).toBe(0)
      expect(unconfirmed).toHaveLength(3)
      expect(await ctx.raw.onKey(indexKey(prefix, 7), "ZCARD", indexKey(prefix, 7))).toBe(3)
      expect(await store.revokeOwner(7)).toBe(3)
      expect(await store.get("b")).toBeNull()
    })

    it("an owner function that throws on an anonymous session: the write works, unindexed", async () => {
      const {store, prefix} = newStore({
        owner: (session) => {
          if (!session.user) throw new Error("no user yet")
          return session.user.id
        },
      })
      await store.set("visitor", anonymous())
      expect(await store.get("visitor")).not.toBeNull()
      await store.touch("visitor", anonymous())
      await store.set("member", userSession(9))
      expect((await store.sessionsOf(9)).map((session) => session.id)).toEqual(["member"])
      expect(await ctx.raw.exists(`${prefix}visitor`)).toBe(true)
    })

    it("a stored session the owner function chokes on is not anyone's, and still logs out", async () => {
      let strict = false
      const {store} = newStore({
        owner: (session) => {
          if (strict) throw new Error("cannot judge")
          return ownerOf(session)
        },
      })
      await store.set("a", userSession(8))
      strict = true
      expect(await store.sessionsOf(8)).toEqual([])
      await store.destroy("a")
      expect(await store.get("a")).toBeNull()
    })
  })
}
