// The contract, part 2: bad input, corrupted values, async serializers.

import type {SessionData} from "express-session"
import {describe, expect, it, vi} from "vitest"
import {CorruptSessionError} from "../../src/index.js"
import {asStored, makeSession} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

export function inputContract(ctx: ContractContext): void {
  const {newStore, neighbours} = ctx

  describe("bad input", () => {
    it.each([
      ["an empty string", ""],
      ["a number", 42],
      ["null", null],
      ["undefined", undefined],
      ["an object", {toString: () => "x"}],
    ])("rejects a sid that is %s in every method, changing nothing", async (_, sid) => {
      const {store, prefix} = newStore()
      const others = await neighbours(prefix)
      const bad = sid as unknown as string
      await expect(store.get(bad)).rejects.toThrow(/session id must be a non-empty string/)
      await expect(store.set(bad, makeSession())).rejects.toThrow(TypeError)
      await expect(store.touch(bad, makeSession())).rejects.toThrow(TypeError)
      await expect(store.destroy(bad)).rejects.toThrow(TypeError)
      expect(await ctx.raw.keys(`${prefix}*`)).toEqual([`${prefix}neighbour`])
      await others.expectUntouched()
    })

    it.each([
      ["null", null],
      ["a string", "session"],
      ["an array", []],
    ])("rejects a session that is %s", async (_, session) => {
      const {store, prefix} = newStore()
      await expect(store.set("a", session as unknown as SessionData)).rejects.toThrow(
        /session must be an object/,
      )
      expect(await ctx.raw.exists(`${prefix}a`)).toBe(false)
    })

    it("rejects a circular session and keeps the previous value", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession(60_000, {views: 1}))
      const before = await ctx.raw.get(`${prefix}a`)
      const circular = makeSession() as SessionData & {self?: unknown}
      circular.self = circular
      await expect(store.set("a", circular)).rejects.toThrow(/cannot be serialized/)
      expect(await ctx.raw.get(`${prefix}a`)).toBe(before)
    })

    it("rejects a session holding a BigInt and keeps the previous value", async () => {
      const {store, prefix} = newStore()
      await store.set("a", makeSession())
      const before = await ctx.raw.get(`${prefix}a`)
      await expect(store.set("a", makeSession(60_000, {big: 1n} as object))).rejects.toThrow(
        /cannot be serialized.*BigInt/,
      )
      expect(await ctx.raw.get(`${prefix}a`)).toBe(before)
    })

    it("reports a serializer that throws, and one that returns no string", async () => {
      const throwing = newStore({
        serializer: {
          parse: JSON.parse,
          stringify: () => {
            throw new Error("encoder broke")
          },
        },
      })
      await expect(throwing.store.set("a", makeSession())).rejects.toThrow(/encoder broke/)
      expect(await ctx.raw.exists(`${throwing.prefix}a`)).toBe(false)
      const silent = newStore({
        serializer: {parse: JSON.parse, stringify: () => undefined as never},
      })
      await expect(silent.store.set("a", makeSession())).rejects.toThrow(/must return a string/)
      expect(await ctx.raw.exists(`${silent.prefix}a`)).toBe(false)
    })
  })

  describe("corrupted values", () => {
    const corrupt = [
      ["unparsable JSON", "{not json"],
      ["an empty string", ""],
      ["a number", "123"],
      ["null", "null"],
      ["an array", "[1,2]"],
      ["an object without cookie", '{"user":1}'],
      ["a cookie that is not an object", '{"cookie":"yes"}'],
    ] as const

    it.each(corrupt)("get treats %s as no session, reports it, keeps it", async (_, value) => {
      const {store, prefix} = newStore()
      await ctx.raw.set(`${prefix}bad`, value)
      const reported: CorruptSessionError[] = []
      store.on("corrupt", (error: CorruptSessionError) => reported.push(error))
      expect(await store.get("bad")).toBeNull()
      expect(reported).toHaveLength(1)
      expect(reported[0]).toBeInstanceOf(CorruptSessionError)
      expect(reported[0]?.sid).toBe("bad")
      expect(reported[0]?.message).not.toContain("bad")
      expect(await ctx.raw.get(`${prefix}bad`)).toBe(value)
    })

    it("all() skips corrupted values, reports each, and returns the rest", async () => {
      const {store, prefix} = newStore()
      await store.set("good", makeSession())
      for (const [name, value] of corrupt) await ctx.raw.set(`${prefix}bad-${name}`, value)
      const reported: string[] = []
      store.on("corrupt", (error: CorruptSessionError) => reported.push(error.sid))
      const sessions = await store.all()
      expect(sessions.map((session) => session.id)).toEqual(["good"])
      expect(reported.sort()).toEqual(corrupt.map(([name]) => `bad-${name}`).sort())
    })

    it("warns once through process warnings when nobody listens", async () => {
      const {store, prefix} = newStore()
      await ctx.raw.set(`${prefix}bad`, "{oops")
      const warnings: Error[] = []
      const onWarning = (warning: Error) => warnings.push(warning)
      process.on("warning", onWarning)
      try {
        expect(await store.get("bad")).toBeNull()
        expect(await store.get("bad")).toBeNull()
        await new Promise((resolve) => setImmediate(resolve))
      } finally {
        process.off("warning", onWarning)
      }
      const ours = warnings.filter((warning) => warning.name === "RedisStoreWarning")
      expect(ours).toHaveLength(1)
      expect(ours[0]?.message).toMatch(/could not be read/)
    })

    it("treats a serializer whose async parse rejects as a corrupted value", async () => {
      const {store, prefix} = newStore({
        serializer: {
          parse: async () => Promise.reject(new Error("bad mac")),
          stringify: JSON.stringify,
        },
      })
      await ctx.raw.set(`${prefix}a`, JSON.stringify(makeSession()))
      const reported = vi.fn()
      store.on("corrupt", reported)
      expect(await store.get("a")).toBeNull()
      expect(reported).toHaveBeenCalledOnce()
    })
  })

  describe("async serializer", () => {
    it("awaits parse in get and in all", async () => {
      const serializer = {
        parse: async (text: string) => JSON.parse(text.slice("v1:".length)) as SessionData,
        stringify: (session: SessionData) => `v1:${JSON.stringify(session)}`,
      }
      const {store} = newStore({serializer})
      const session = makeSession(60_000, {views: 5})
      await store.set("a", session)
      await store.set("b", session)
      expect(await store.get("a")).toEqual(asStored(session))
      const all = await store.all()
      expect(all.map((s) => s.id).sort()).toEqual(["a", "b"])
      for (const stored of all) expect(stored.views).toBe(5)
    })
  })
}
