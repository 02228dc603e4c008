// The contract, part 6: concurrent requests of one user never lose each other's changes
// (concurrentWrites "merge", the default).
//
// A "request" here is what express-session does: `get`, then `createSession` (which builds
// the request's Session), changes, `set`. Requests overlap when one loads before another
// saves. Each test that checks a kept change also shows that "overwrite" loses it.

import type {Session} from "express-session"
import {describe, expect, it} from "vitest"
import type {RedisStore} from "../../src/index.js"
import {makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

type Fields = Record<string, unknown>

/** Loads the session as express-session does, into a Session of its own. */
export async function load(store: RedisStore, sid: string): Promise<Session & Fields> {
  const data = await store.get(sid)
  if (data === null) throw new Error(`no session ${sid}`)
  const req = {sessionID: sid, sessionStore: store}
  return store.createSession(req as never, data) as unknown as Session & Fields
}

export function mergeContract(ctx: ContractContext): void {
  const {newStore} = ctx

  /** Two requests that loaded the same session, then each changed what `change` says. */
  async function overlapping(
    store: RedisStore,
    changeA: (s: Fields) => void,
    changeB: (s: Fields) => void,
  ) {
    await store.set("u", makeSession(60_000, {shared: "base", gone: 1} as Fields))
    const [a, b] = [await load(store, "u"), await load(store, "u")]
    changeA(a)
    await store.set("u", a)
    changeB(b)
    await store.set("u", b)
    return (await store.get("u")) as unknown as Fields
  }

  describe("concurrent writes merge", () => {
    it("two overlapping requests keep each other's changes; overwrite loses one", async () => {
      const changes = [(s: Fields) => (s.flash = "saved"), (s: Fields) => (s.cartLine = 42)]
      const merged = await overlapping(newStore().store, ...(changes as [never, never]))
      expect(merged).toMatchObject({flash: "saved", cartLine: 42, shared: "base"})
      const {store} = newStore({concurrentWrites: "overwrite"})
      expect(store.concurrentWrites).toBe("overwrite")
      const lost = await overlapping(store, ...(changes as [never, never]))
      expect(lost.flash).toBeUndefined()
    })

    it("a field both changed goes to the later save, or to resolveConflict", async () => {
      const set = (value: string) => (s: Fields) => (s.shared = value)
      expect((await overlapping(newStore().store, set("A"), set("B"))).shared).toBe("B")
      const seen: unknown[] = []
      const {store} = newStore({
        resolveConflict: (field, versions) => {
          seen.push(field, versions)
          return `${String(versions.theirs)}+${String(versions.mine)}`
        },
      })
      expect((await overlapping(store, set("A"), set("B"))).shared).toBe("A+B")
      expect(seen).toEqual(["shared", {base: "base", mine: "B", theirs: "A"}])
    })

    it("a deletion is a change: kept against an untouched field, lost to no one", async () => {
      const merged = await overlapping(
        newStore().store,
        (s) => delete s.gone,
        (s) => (s.other = true),
      )
      expect(merged).not.toHaveProperty("gone")
      expect(merged.other).toBe(true)
    })

    it("nested values are never merged inside: each comes back as its request had it", async () => {
      const merged = await overlapping(
        newStore().store,
        (s) => (s.profile = {name: "Ada", tags: ["x"], at: new Date(0)}),
        (s) => (s.prefs = {theme: {dark: true}}),
      )
      expect(merged.profile).toEqual({name: "Ada", tags: ["x"], at: new Date(0).toISOString()})
      expect(merged.prefs).toEqual({theme: {dark: true}})
    })

    it("the cookie (expiry) is the saving request's", async () => {
      const {store, prefix} = newStore()
      await overlapping(
        store,
        (s) => (s.a = 1),
        (s) => {
          s.b = 2
          ;(s.cookie as {expires: Date}).expires = new Date(Date.now() + 5_000)
        },
      )
      const ttl = await ctx.raw.pttl(`${prefix}u`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(5_000)
    })

    it("a logout in between wins: the late save changes nothing", async () => {
      const {store, prefix} = newStore()
      await store.set("u", makeSession())
      const late = await load(store, "u")
      await store.destroy("u")
      late.flash = "late"
      await expect(store.set("u", late)).resolves.toBeUndefined()
      expect(await store.get("u")).toBeNull()
      expect(await ctx.raw.type(`${prefix}u`)).toBe("hash")
    })

    it("a session deleted without a tombstone is written as the request has it", async () => {
      const {store, prefix} = newStore({tombstoneSeconds: 0})
      await store.set("u", makeSession(60_000, {kept: 1} as Fields))
      const late = await load(store, "u")
      await store.destroy("u")
      late.flash = "late"
      await store.set("u", late)
      expect(await store.get("u")).toMatchObject({kept: 1, flash: "late"})
      expect(await ctx.raw.pttl(`${prefix}u`)).toBeGreaterThan(0)
    })

    it("a hostile stored value cannot reach the Session's prototype, methods or id", async () => {
      const {store, prefix} = newStore()
      await store.set("u", makeSession())
      const mine = await load(store, "u")
      const cookie = JSON.parse(String(await ctx.raw.get(`${prefix}u`))).cookie
      const hostile = `{"cookie":${JSON.stringify(cookie)},"__proto__":{"polluted":true},"save":"x","regenerate":1,"id":"other","theirs":2}`
      await ctx.raw.set(`${prefix}u`, hostile)
      mine.flash = "mine"
      await store.set("u", mine)
      expect(typeof mine.save).toBe("function")
      expect(typeof mine.regenerate).toBe("function")
      expect(mine.id).toBe("u")
      expect(({} as Fields).polluted).toBeUndefined()
      expect(Object.getPrototypeOf(mine)).not.toHaveProperty("polluted")
      expect(await store.get("u")).toMatchObject({flash: "mine", theirs: 2})
    })

    it("a save with no write in between is one command; a second save of a request too", async () => {
      const {store} = newStore()
      await store.set("u", makeSession())
      const mine = await load(store, "u")
      mine.views = 0
      await store.set("u", mine) // the script is now on the server that holds "u"
      const commands = await ctx.everyCommand(async () => {
        mine.views = 1
        await store.set("u", mine)
        mine.views = 2
        await store.set("u", mine)
      })
      expect(commands).toEqual(["EVALSHA", "EVALSHA"])
      expect((await store.get("u"))?.views).toBe(2)
    })

    it("a new session's second save knows the first: another request's change in between stays", async () => {
      const {store} = newStore()
      const fresh = makeSession(60_000, {views: 0} as Fields) as unknown as Fields
      await store.set("n", fresh as never)
      const other = await load(store, "n")
      other.flash = "theirs"
      await store.set("n", other)
      fresh.views = 1
      await store.set("n", fresh as never)
      expect(await store.get("n")).toMatchObject({views: 1, flash: "theirs"})
    })
  })
}
