// The contract every supported client kind must meet. Each test file starts the servers for
// one topology and calls contractSuite() for every client kind of that topology.

import type {SessionData} from "express-session"
import {afterAll, beforeAll, describe, expect, it, vi} from "vitest"
import {CorruptSessionError, RedisStore, type RedisStoreSettings} from "../../src/index.js"
import {type ClientKind, connectClient, type Servers, type TestClient} from "./clients.js"
import {RawRedis} from "./raw-redis.js"
import type {RedisServer} from "./redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./sessions.js"

export interface ContractEnv {
  servers: Servers
  /** Every master, for checking what is really stored. */
  masters: RedisServer[]
}

// Commands that servers, replicas, sentinels and our own checks send: not the store's.
const NOISE =
  /^(info|ping|config|slowlog|replconf|publish|cluster|client|hello|command|psync|sync|select|auth)/

export function contractSuite(kind: ClientKind, env: () => ContractEnv): void {
  describe(kind.name, () => {
    let connection: TestClient
    let raw: RawRedis

    beforeAll(async () => {
      connection = await connectClient(kind, env().servers)
      raw = new RawRedis(env().masters)
    })
    afterAll(async () => {
      await connection?.close()
    })

    function newStore(settings: RedisStoreSettings = {}) {
      const prefix = settings.prefix ?? uniquePrefix()
      return {store: new RedisStore(connection.client, {...settings, prefix}), prefix}
    }

    /** Keys of another app (and another store) that no operation may touch. */
    async function neighbours(...prefixes: string[]) {
      const own = uniquePrefix("n")
      const keys = [`${own}x`, ...prefixes.map((prefix) => `${prefix}neighbour`)]
      for (const key of keys) await raw.set(key, JSON.stringify(makeSession()))
      const before = Object.fromEntries(
        await Promise.all(keys.map(async (key) => [key, await raw.get(key)] as const)),
      )
      return {
        async expectUntouched() {
          for (const [key, value] of Object.entries(before)) expect(await raw.get(key)).toBe(value)
        },
      }
    }

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
        expect(JSON.parse(String(await raw.get(`${prefix}abc`)))).toEqual(asStored(session))
      })

      it("reads sessions written by connect-redis (same key layout and JSON)", async () => {
        const prefix = uniquePrefix()
        const written = asStored(makeSession())
        await raw.set(`${prefix}legacy`, JSON.stringify(written), "EX", 600)
        const store = new RedisStore({client: connection.client, prefix})
        expect(await store.get("legacy")).toEqual(written)
      })

      it("uses the default prefix sess:", async () => {
        const store = new RedisStore(connection.client)
        const sid = uniquePrefix("default").slice(0, -1)
        await store.set(sid, makeSession())
        expect(await raw.exists(`sess:${sid}`)).toBe(true)
        await store.destroy(sid)
        expect(await raw.exists(`sess:${sid}`)).toBe(false)
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
        const ttl = await raw.ttl(`${prefix}a`)
        expect(ttl).toBeGreaterThanOrEqual(89)
        expect(ttl).toBeLessThanOrEqual(91)
      })

      it("accepts cookie.expires as a string, as a session read back from JSON has it", async () => {
        const {store, prefix} = newStore()
        await store.set("a", asStored(makeSession(120_000)) as SessionData)
        expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(100)
      })

      it("uses the ttl option when the cookie has no expires", async () => {
        const {store, prefix} = newStore({ttl: 600})
        await store.set("a", makeSession(null))
        const ttl = await raw.ttl(`${prefix}a`)
        expect(ttl).toBeGreaterThan(590)
        expect(ttl).toBeLessThanOrEqual(600)
      })

      it("defaults to one day when the cookie has no expires", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession(null))
        expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(86_000)
      })

      it("lets a ttl function decide, with the session as argument", async () => {
        const ttl = vi.fn((session: SessionData) => (session.user ? 1000 : 10))
        const {store, prefix} = newStore({ttl})
        const session = makeSession(60_000)
        await store.set("a", session)
        expect(ttl).toHaveBeenCalledWith(session)
        expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(990)
      })

      it("rounds a fractional ttl up (1.5 becomes 2), so SET never fails on it", async () => {
        const {store, prefix} = newStore({ttl: () => 1.5})
        await store.set("a", makeSession())
        expect(await raw.ttl(`${prefix}a`)).toBe(2)
      })

      it.each([
        ["NaN", Number.NaN],
        ["Infinity", Number.POSITIVE_INFINITY],
        ["a string", "60"],
        ["undefined", undefined],
      ])("rejects a ttl function returning %s and writes nothing", async (_, value) => {
        const {store, prefix} = newStore({ttl: () => value as number})
        await raw.set(`${prefix}a`, "previous")
        await expect(store.set("a", makeSession())).rejects.toThrow(/ttl function must return/)
        await expect(store.set("b", makeSession())).rejects.toThrow(TypeError)
        expect(await raw.get(`${prefix}a`)).toBe("previous")
        expect(await raw.exists(`${prefix}b`)).toBe(false)
      })

      it("rejects a ttl function that throws, leaving the session as it was", async () => {
        const {store, prefix} = newStore({
          ttl: () => {
            throw new Error("policy down")
          },
        })
        await raw.set(`${prefix}a`, "previous")
        await expect(store.set("a", makeSession())).rejects.toThrow("policy down")
        expect(await raw.get(`${prefix}a`)).toBe("previous")
      })

      it.each([
        ["an unparsable string", "not a date"],
        ["an Invalid Date", new Date(Number.NaN)],
        ["a boolean", true],
      ])("rejects cookie.expires that is %s and keeps the stored session", async (_, expires) => {
        const {store, prefix} = newStore()
        await raw.set(`${prefix}a`, "previous", "EX", 600)
        const session = makeSession()
        ;(session.cookie as unknown as {expires: unknown}).expires = expires
        await expect(store.set("a", session)).rejects.toThrow(/cookie.expires is not a valid date/)
        await expect(store.touch("a", session)).rejects.toThrow(/cookie.expires/)
        expect(await raw.get(`${prefix}a`)).toBe("previous")
        expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(590)
      })

      it("deletes the session on set when its cookie has already expired", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession())
        await store.set("a", makeSession(-5_000))
        expect(await raw.exists(`${prefix}a`)).toBe(false)
      })

      it.each([0, -10])("deletes the session when the ttl function returns %s", async (value) => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession())
        const ending = new RedisStore(connection.client, {prefix, ttl: () => value})
        await ending.set("a", makeSession())
        expect(await raw.exists(`${prefix}a`)).toBe(false)
      })

      it("writes no expiry with disableTTL", async () => {
        const {store, prefix} = newStore({disableTTL: true})
        await store.set("a", makeSession())
        expect(await raw.ttl(`${prefix}a`)).toBe(-1)
      })
    })

    describe("touch", () => {
      it("re-times an existing session", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession(30_000))
        await store.touch("a", makeSession(500_000))
        expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(490)
      })

      it("never creates a session that does not exist", async () => {
        const {store, prefix} = newStore()
        await store.touch("gone", makeSession())
        expect(await raw.exists(`${prefix}gone`)).toBe(false)
      })

      it("leaves the stored data as it was", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession(60_000, {views: 1}))
        const before = await raw.get(`${prefix}a`)
        await store.touch("a", makeSession(60_000, {views: 99}))
        expect(await raw.get(`${prefix}a`)).toBe(before)
      })

      it("deletes the session when its TTL is over", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession())
        await store.touch("a", makeSession(-1_000))
        expect(await raw.exists(`${prefix}a`)).toBe(false)
      })

      it.each([
        ["disableTouch", {disableTouch: true}],
        ["disableTTL", {disableTTL: true}],
      ])("does nothing with %s", async (_, settings) => {
        const {store, prefix} = newStore(settings)
        await store.set("a", makeSession(30_000))
        const ttl = await raw.ttl(`${prefix}a`)
        await store.touch("a", makeSession(500_000))
        expect(await raw.ttl(`${prefix}a`)).toBe(ttl)
      })
    })

    describe("destroy", () => {
      it("removes the session and nothing else", async () => {
        const {store, prefix} = newStore()
        const others = await neighbours(prefix)
        await store.set("a", makeSession())
        await store.set("b", makeSession())
        await store.destroy("a")
        expect(await raw.exists(`${prefix}a`)).toBe(false)
        expect(await raw.exists(`${prefix}b`)).toBe(true)
        await others.expectUntouched()
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

      it("rejects the promise when no callback is given", async () => {
        const {store} = newStore()
        await expect(store.get("")).rejects.toThrow(TypeError)
      })
    })

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
        expect(await raw.keys(`${prefix}*`)).toEqual([`${prefix}neighbour`])
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
        expect(await raw.exists(`${prefix}a`)).toBe(false)
      })

      it("rejects a circular session and keeps the previous value", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession(60_000, {views: 1}))
        const before = await raw.get(`${prefix}a`)
        const circular = makeSession() as SessionData & {self?: unknown}
        circular.self = circular
        await expect(store.set("a", circular)).rejects.toThrow(/cannot be serialized/)
        expect(await raw.get(`${prefix}a`)).toBe(before)
      })

      it("rejects a session holding a BigInt and keeps the previous value", async () => {
        const {store, prefix} = newStore()
        await store.set("a", makeSession())
        const before = await raw.get(`${prefix}a`)
        await expect(store.set("a", makeSession(60_000, {big: 1n} as object))).rejects.toThrow(
          /cannot be serialized.*BigInt/,
        )
        expect(await raw.get(`${prefix}a`)).toBe(before)
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
        expect(await raw.exists(`${throwing.prefix}a`)).toBe(false)
        const silent = newStore({
          serializer: {parse: JSON.parse, stringify: () => undefined as never},
        })
        await expect(silent.store.set("a", makeSession())).rejects.toThrow(/must return a string/)
        expect(await raw.exists(`${silent.prefix}a`)).toBe(false)
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
        await raw.set(`${prefix}bad`, value)
        const reported: CorruptSessionError[] = []
        store.on("corrupt", (error: CorruptSessionError) => reported.push(error))
        expect(await store.get("bad")).toBeNull()
        expect(reported).toHaveLength(1)
        expect(reported[0]).toBeInstanceOf(CorruptSessionError)
        expect(reported[0]?.sid).toBe("bad")
        expect(reported[0]?.message).not.toContain("bad")
        expect(await raw.get(`${prefix}bad`)).toBe(value)
      })

      it("all() skips corrupted values, reports each, and returns the rest", async () => {
        const {store, prefix} = newStore()
        await store.set("good", makeSession())
        for (const [name, value] of corrupt) await raw.set(`${prefix}bad-${name}`, value)
        const reported: string[] = []
        store.on("corrupt", (error: CorruptSessionError) => reported.push(error.sid))
        const sessions = await store.all()
        expect(sessions.map((session) => session.id)).toEqual(["good"])
        expect(reported.sort()).toEqual(corrupt.map(([name]) => `bad-${name}`).sort())
      })

      it("warns once through process warnings when nobody listens", async () => {
        const {store, prefix} = newStore()
        await raw.set(`${prefix}bad`, "{oops")
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
        await raw.set(`${prefix}a`, JSON.stringify(makeSession()))
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

    describe("bulk: ids, all, length, clear", () => {
      it("answers for an empty store", async () => {
        const {store} = newStore()
        expect(await store.length()).toBe(0)
        expect(await store.ids()).toEqual([])
        expect(await store.all()).toEqual([])
        await expect(store.clear()).resolves.toBeUndefined()
      })

      it("works over many sessions, in batches of at most scanCount keys per command", async () => {
        const {store, prefix} = newStore({scanCount: 7})
        const others = await neighbours()
        const count = 300
        const sids = Array.from({length: count}, (_, i) => `s${i}`)
        await Promise.all(sids.map((sid, i) => store.set(sid, makeSession(60_000, {views: i}))))
        await raw.recordCommands()

        expect(await store.length()).toBe(count)
        expect((await store.ids()).sort()).toEqual([...sids].sort())
        const all = await store.all()
        expect(all).toHaveLength(count)
        for (const session of all) expect(session.views).toBe(Number(session.id.slice(1)))
        await store.clear()
        expect(await raw.keys(`${prefix}*`)).toEqual([])
        expect(await store.length()).toBe(0)

        const ours = (await raw.recordedCommands()).filter((args) =>
          args.some((arg) => arg.startsWith(prefix)),
        )
        const byName = (name: string) => ours.filter((args) => args[0]?.toUpperCase() === name)
        expect(byName("MGET").length).toBeGreaterThan(0)
        expect(byName("UNLINK").length).toBeGreaterThan(0)
        for (const args of [...byName("MGET"), ...byName("UNLINK")]) {
          expect(args.length - 1).toBeLessThanOrEqual(7)
        }
        for (const args of byName("SCAN")) expect(args).toContain("7")
        await others.expectUntouched()
      })

      it.each([
        ["brackets", "app[1]:", ["app1:", "appx:"]],
        ["a star", "s*", ["sother:", "s:", "sx*"]],
        ["a question mark", "a?:", ["ab:", "ax:"]],
        ["a backslash", "b\\:", ["b:", "b\\\\:"]],
      ])(
        "with %s in the prefix never reads or deletes another prefix's keys",
        async (_, tail, otherTails) => {
          const base = uniquePrefix("glob").slice(0, -1)
          const prefix = `${base}${tail}`
          const {store} = newStore({prefix})
          const others = await neighbours(...otherTails.map((other) => `${base}${other}`))
          await store.set("mine", makeSession())
          expect(await store.ids()).toEqual(["mine"])
          expect(await store.length()).toBe(1)
          expect((await store.all()).map((session) => session.id)).toEqual(["mine"])
          await store.clear()
          expect(await raw.exists(`${prefix}mine`)).toBe(false)
          await others.expectUntouched()
        },
      )

      it("clear() leaves other prefixes and other stores alone", async () => {
        const first = newStore()
        const second = newStore()
        const others = await neighbours(first.prefix.slice(0, -1))
        await first.store.set("a", makeSession())
        await second.store.set("a", makeSession())
        await first.store.clear()
        expect(await first.store.length()).toBe(0)
        expect(await second.store.ids()).toEqual(["a"])
        await others.expectUntouched()
      })
    })

    describe("round trips", () => {
      it("sends exactly one command for each of get, set, touch and destroy", async () => {
        const {store} = newStore()
        const expectOneCommand = async (name: string, run: () => Promise<unknown>) => {
          await raw.resetStats()
          await run()
          const calls = [...(await raw.commandCalls())].filter(([command]) => !NOISE.test(command))
          expect(calls, name).toEqual([[name, 1]])
        }
        await expectOneCommand("set", () => store.set("a", makeSession()))
        await expectOneCommand("get", () => store.get("a"))
        await expectOneCommand("get", () => store.get("missing"))
        await expectOneCommand("expire", () => store.touch("a", makeSession()))
        await expectOneCommand("del", () => store.destroy("a"))
        await expectOneCommand("del", () => store.set("b", makeSession(-1000)))
      })
    })

    if (kind.hasKeyPrefix) {
      describe("client keyPrefix (node-redis 6.1+)", () => {
        it("combines the client's prefix with the store's, in every method", async () => {
          const clientPrefix = uniquePrefix("cp")
          const prefixed = await connectClient(kind, env().servers, {keyPrefix: clientPrefix})
          try {
            const store = new RedisStore(prefixed.client, {prefix: "sess:"})
            const others = await neighbours(
              `${clientPrefix}other:`,
              `${clientPrefix.slice(0, -1)}sess:`,
            )
            await raw.set(`${clientPrefix}sess2:x`, "other store")
            const session = makeSession()
            await store.set("a", session)
            await store.set("b", session)
            expect(await raw.exists(`${clientPrefix}sess:a`)).toBe(true)
            expect(await raw.exists("sess:a")).toBe(false)
            expect(await store.get("a")).toEqual(asStored(session))
            expect((await store.ids()).sort()).toEqual(["a", "b"])
            expect(await store.length()).toBe(2)
            expect((await store.all()).map((s) => s.id).sort()).toEqual(["a", "b"])
            await store.touch("a", makeSession(500_000))
            expect(await raw.ttl(`${clientPrefix}sess:a`)).toBeGreaterThan(490)
            await store.destroy("b")
            expect(await raw.exists(`${clientPrefix}sess:b`)).toBe(false)
            await store.clear()
            expect(await raw.keys(`${clientPrefix}sess:*`)).toEqual([])
            expect(await raw.get(`${clientPrefix}sess2:x`)).toBe("other store")
            await others.expectUntouched()
          } finally {
            await prefixed.close()
          }
        })
      })
    }

    it("saw no client errors", () => {
      expect(connection.errors).toEqual([])
    })
  })
}
