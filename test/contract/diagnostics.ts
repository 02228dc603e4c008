// The contract, part 7: every operation publishes on its diagnostics channel (start, end,
// asyncStart, asyncEnd, and error when it rejects) with the documented context and how it
// ended; no payload holds a session id or session data.

import type {SessionData} from "express-session"
import {afterEach, describe, expect, it} from "vitest"
import {type StoreOperationContext, sessionHash} from "../../src/index.js"
import {type Recorder, record} from "../support/diagnostics.js"
import {makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"
import {load} from "./merge.js"

const SETTLED = ["start", "end", "asyncStart", "asyncEnd"]
const REJECTED = ["start", "end", "error", "asyncStart", "asyncEnd"]

export function diagnosticsContract(ctx: ContractContext): void {
  const {newStore} = ctx
  const recorders: Recorder[] = []
  afterEach(() => {
    for (const recorder of recorders.splice(0)) recorder.stop()
  })
  /** A store whose every call is recorded (until the test ends). */
  function observedStore(settings: Parameters<typeof newStore>[0] = {}) {
    const made = newStore(settings)
    const recorded = record(made.prefix)
    recorders.push(recorded)
    return {...made, recorded}
  }
  const outcomes = (contexts: StoreOperationContext[]) => contexts.map((c) => c.outcome)

  describe("diagnostics channels", () => {
    it("every operation publishes start, end, asyncStart and asyncEnd with how it ended", async () => {
      const {store, prefix, recorded} = observedStore({tombstoneSeconds: 30})
      const session = makeSession(60_000, {views: 1})
      await store.set("a", session)
      const stored = (await ctx.raw.get(`${prefix}a`)) as string
      await store.get("a")
      await store.get("none")
      await store.touch("a", makeSession())
      await store.touch("none", makeSession())
      expect(await store.length()).toBe(1)
      await store.ids()
      await store.all()
      await store.destroy("a")
      await store.get("a")
      await store.set("a", session)
      await store.touch("a", makeSession())
      await store.set("b", makeSession(-1_000))
      await store.set("c", makeSession())
      await store.clear()

      expect(outcomes(recorded.finished("set"))).toEqual([
        "written",
        "logged-out",
        "deleted",
        "written",
      ])
      expect(outcomes(recorded.finished("get"))).toEqual(["hit", "miss", "logged-out"])
      expect(outcomes(recorded.finished("touch"))).toEqual(["touched", "missing", "logged-out"])
      expect(outcomes(recorded.finished("destroy"))).toEqual(["destroyed"])
      for (const operation of ["length", "ids", "all"] as const) {
        expect(recorded.finished(operation).map((c) => [c.outcome, c.count])).toEqual([["done", 1]])
      }
      expect(recorded.finished("clear").map((c) => [c.outcome, c.count])).toEqual([["done", 1]])

      const [written] = recorded.finished("set")
      const [hit] = recorded.finished("get")
      expect(written?.bytes).toBe(Buffer.byteLength(stored))
      expect(hit?.bytes).toBe(Buffer.byteLength(stored))
      for (const {context, event} of recorded.events) {
        expect(context.prefix).toBe(prefix)
        expect(context.result).toBeUndefined()
        expect(context.error).toBeUndefined()
        if (event !== "asyncEnd") continue
        expect(recorded.eventsOf(context)).toEqual(SETTLED)
        const perSession = ["get", "set", "touch", "destroy"].includes(context.operation)
        if (perSession) {
          expect(context.sessionHash).toMatch(/^[\w-]{16}$/)
          expect([
            sessionHash("a"),
            sessionHash("none"),
            sessionHash("b"),
            sessionHash("c"),
          ]).toContain(context.sessionHash)
        } else {
          expect(context.sessionHash).toBeUndefined()
        }
      }
      expect(recorded.finished("get")[0]?.sessionHash).toBe(sessionHash("a"))
    })

    it("with concurrentWrites overwrite, a late write after logout is logged-out too", async () => {
      const {store, recorded} = observedStore({concurrentWrites: "overwrite"})
      await store.set("a", makeSession())
      await store.destroy("a")
      await store.set("a", makeSession())
      await store.set("a", makeSession(-1_000))
      expect(outcomes(recorded.finished("set"))).toEqual(["written", "logged-out", "logged-out"])
    })

    it("a payload never holds a session id or session data", async () => {
      const {store, recorded} = observedStore({maxBytes: 2_000})
      const sid = "Zq8Xw3Lm0Pv7Rt5Ys2Nb9Kc4"
      const secret = "the-users-own-secret-4711"
      const session = makeSession(60_000, {secret} as Partial<SessionData>)
      await store.set(sid, session)
      await store.get(sid)
      await store.touch(sid, session)
      await store.all()
      await store.ids()
      const tooLarge = {...session, padding: secret.repeat(200)} as SessionData
      await expect(store.set(sid, tooLarge)).rejects.toMatchObject({code: "ETOOLARGE"})
      await store.destroy(sid)
      await store.set(sid, session)
      expect(recorded.events.length).toBeGreaterThanOrEqual(8 * 4)
      const printed = recorded.everythingPrinted()
      expect(printed).toContain(sessionHash(sid))
      expect(printed).not.toContain(sid)
      expect(printed).not.toContain(secret)
      expect(printed).not.toContain("Ada")
    })

    it("a value that cannot be read: outcome unreadable, and the unreadable channel", async () => {
      const {store, prefix, recorded} = observedStore()
      store.on("corrupt", () => {})
      await ctx.raw.set(`${prefix}bad`, "{not json")
      expect(await store.get("bad")).toBeNull()
      const [read] = recorded.finished("get")
      expect([read?.outcome, read?.bytes]).toEqual(["unreadable", 9])
      expect(recorded.messages.get("redis-session-store:unreadable")).toEqual([
        {prefix, sessionHash: sessionHash("bad")},
      ])
    })

    it("a write refused by maxBytes: error, then outcome too-large; nothing stored", async () => {
      const {store, prefix, recorded} = observedStore({maxBytes: 200})
      const big = makeSession(60_000, {cart: Array.from({length: 100}, (_, i) => i)})
      await expect(store.set("big", big)).rejects.toMatchObject({code: "ETOOLARGE"})
      const [refused] = recorded.finished("set") as [StoreOperationContext]
      expect(refused.outcome).toBe("too-large")
      expect(refused.error).toMatchObject({code: "ETOOLARGE"})
      expect(recorded.eventsOf(refused)).toEqual(REJECTED)
      expect(await ctx.raw.get(`${prefix}big`)).toBeNull()
    })

    it("a bad argument: outcome invalid, with the TypeError the caller gets", async () => {
      const {store, recorded} = observedStore()
      await expect(store.get("")).rejects.toThrow(TypeError)
      await expect(store.set("a", null as never)).rejects.toThrow(TypeError)
      const failed = [...recorded.finished("get"), ...recorded.finished("set")]
      expect(outcomes(failed)).toEqual(["invalid", "invalid"])
      expect(failed.map((c) => c.error)).toEqual([expect.any(TypeError), expect.any(TypeError)])
    })

    it("a save that merged another request's changes: outcome merged, one retry", async () => {
      const {store, recorded} = observedStore()
      await store.set("u", makeSession())
      const [a, b] = [await load(store, "u"), await load(store, "u")]
      a.flash = "saved"
      await store.set("u", a)
      b.cartLine = 42
      await store.set("u", b)
      const saves = recorded.finished("set")
      expect(saves.map((c) => [c.outcome, c.retries])).toEqual([
        ["written", 0],
        ["written", 0],
        ["merged", 1],
      ])
      expect(await store.get("u")).toMatchObject({flash: "saved", cartLine: 42})
    })

    it("with touchAfter: hit, miss, logged-out, and a touch skipped", async () => {
      const {store, recorded} = observedStore({touchAfter: 60})
      await store.set("a", makeSession())
      const loaded = (await store.get("a")) as SessionData
      // As express-session does before a touch: the cookie's expiry rolled forward.
      loaded.cookie.expires = new Date(Date.now() + 60_000)
      await store.touch("a", loaded)
      await store.get("none")
      await store.destroy("a")
      await store.get("a")
      expect(outcomes(recorded.finished("get"))).toEqual(["hit", "miss", "logged-out"])
      expect(outcomes(recorded.finished("touch"))).toEqual(["skipped"])
    })

    it("past absoluteTimeout: outcome expired", async () => {
      const {store, prefix, recorded} = observedStore({absoluteTimeout: 5})
      const old = {...makeSession(), sessionCreatedAt: Date.now() - 10_000}
      await ctx.raw.set(`${prefix}old`, JSON.stringify(old))
      expect(await store.get("old")).toBeNull()
      expect(outcomes(recorded.finished("get"))).toEqual(["expired"])
    })

    it("owner operations count the sessions they listed and ended", async () => {
      const ownerOf = (session: SessionData) => session.user?.id
      const {store, recorded} = observedStore({owner: ownerOf})
      await store.set("p", makeSession())
      await store.set("q", makeSession())
      expect(await store.sessionsOf(7)).toHaveLength(2)
      expect(await store.revokeOwner(7)).toBe(2)
      const counted = [...recorded.finished("sessionsOf"), ...recorded.finished("revokeOwner")]
      expect(counted.map((c) => [c.operation, c.outcome, c.count])).toEqual([
        ["sessionsOf", "done", 2],
        ["revokeOwner", "done", 2],
      ])
    })

    it("maxSessionsPerOwner: a login over the limit is refused; an evicted session's late save is logged-out", async () => {
      const ownerOf = (session: SessionData) => session.user?.id
      const refusing = observedStore({
        owner: ownerOf,
        maxSessionsPerOwner: 1,
        onTooManySessions: "refuse",
      })
      await refusing.store.set("p", makeSession())
      await expect(refusing.store.set("q", makeSession())).rejects.toMatchObject({
        code: "ETOOMANYSESSIONS",
      })
      expect(outcomes(refusing.recorded.finished("set"))).toEqual(["written", "refused"])
      const evicting = observedStore({owner: ownerOf, maxSessionsPerOwner: 1})
      const first = makeSession()
      await evicting.store.set("p", first)
      await evicting.store.set("q", makeSession())
      await evicting.store.set("p", first)
      expect(outcomes(evicting.recorded.finished("set"))).toEqual([
        "written",
        "written",
        "logged-out",
      ])
    })

    it("a call with a callback is traced once, and the callback still runs", async () => {
      const {store, recorded} = observedStore()
      await store.set("a", makeSession())
      const got = await new Promise((resolve, reject) =>
        store.get("a", (error, session) => (error ? reject(error) : resolve(session))),
      )
      expect(got).toMatchObject({user: {id: 7}})
      expect(recorded.events.filter((e) => e.operation === "get").map((e) => e.event)).toEqual(
        SETTLED,
      )
    })
  })
}
