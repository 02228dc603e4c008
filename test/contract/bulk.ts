import type {SessionData} from "express-session"
import {describe, expect, it} from "vitest"
import {RedisStore} from "../../src/index.js"
import {READ_ON_NODE} from "../../src/redis/scripts.js"
import {connectClient} from "../support/clients.js"
import {asStored, makeSession, uniquePrefix} from "../support/sessions.js"
import type {ContractContext} from "./contract.js"

/** A batch read: MGET, or the script that reads a batch across slots on one cluster node. */
function isRead(args: string[]): boolean {
  const name = args[0]?.toUpperCase()
  return name === "MGET" || (name === "EVALSHA" && args[1] === READ_ON_NODE.sha)
}

export function bulkContract(ctx: ContractContext): void {
  const {newStore, neighbours, kind, env} = ctx

  describe("bulk: ids, all, length, clear", () => {
    it("answers for an empty store", async () => {
      const {store} = newStore()
      expect(await store.length()).toBe(0)
      expect(await store.ids()).toEqual([])
      expect(await store.all()).toEqual([])
      await expect(store.clear()).resolves.toBeUndefined()
    })

    it("entries(): every session once, skipping tombstones and unreadable values; stops when the loop does", async () => {
      const {store, prefix} = newStore({scanCount: 5})
      const others = await neighbours()
      const sids = Array.from({length: 40}, (_, i) => `s${i}`)
      await Promise.all(sids.map((sid, i) => store.set(sid, makeSession(60_000, {views: i}))))
      await store.destroy("s0")
      await ctx.raw.set(`${prefix}broken`, "{not json")
      store.on("corrupt", () => {})
      const mgetsOf = async (walk: () => Promise<void>) => {
        await ctx.raw.recordCommands()
        await walk()
        const recorded = await ctx.raw.recordedCommands()
        return recorded.filter((args) => isRead(args) && args.some((arg) => arg.startsWith(prefix)))
          .length
      }
      const seen: string[] = []
      const full = await mgetsOf(async () => {
        for await (const [id, session] of store.entries()) {
          expect(session.views).toBe(Number(id.slice(1)))
          seen.push(id)
        }
      })
      expect(seen.sort()).toEqual(sids.slice(1).sort())
      let taken = 0
      const early = await mgetsOf(async () => {
        for await (const _ of store.entries()) if (++taken === 3) break
      })
      // Three sessions (and perhaps the unreadable value) take at most four batches of the
      // whole walk's eight or more (40 keys, at most 5 a batch; on a cluster each batch's MGET
      // is split by slot alike): the walk stopped with the loop.
      expect(taken).toBe(3)
      expect(early).toBeGreaterThan(0)
      expect(early * 2).toBeLessThanOrEqual(full)
      await others.expectUntouched()
    })

    it.each([
      ["tombstones", {}, "EVALSHA"],
      ["tombstoneSeconds: 0", {tombstoneSeconds: 0}, "UNLINK"],
    ] as const)(
      "works over many sessions, in batches of at most scanCount keys per command (%s)",
      async (_, settings, clearCommand) => {
        const {store, prefix} = newStore({scanCount: 7, ...settings})
        const others = await neighbours()
        const count = 300
        const sids = Array.from({length: count}, (_, i) => `s${i}`)
        await Promise.all(sids.map((sid, i) => store.set(sid, makeSession(60_000, {views: i}))))
        await ctx.raw.recordCommands()

        expect(await store.length()).toBe(count)
        expect((await store.ids()).sort()).toEqual([...sids].sort())
        const all = await store.all()
        expect(all).toHaveLength(count)
        for (const session of all) expect(session.views).toBe(Number(session.id.slice(1)))
        await store.clear()
        expect(await store.length()).toBe(0)
        const left = await ctx.raw.keys(`${prefix}*`)
        if (clearCommand === "UNLINK") expect(left).toEqual([])
        else expect(left).toHaveLength(count)
        for (const key of left) expect(await ctx.raw.type(key)).toBe("hash")

        const ours = (await ctx.raw.recordedCommands()).filter((args) =>
          args.some((arg) => arg.startsWith(prefix)),
        )
        const byName = (name: string) => ours.filter((args) => args[0]?.toUpperCase() === name)
        expect(ours.filter(isRead).length).toBeGreaterThan(0)
        expect(byName(clearCommand).length).toBeGreaterThan(0)
        for (const args of [...byName("MGET"), ...byName("UNLINK")]) {
          expect(args.length - 1).toBeLessThanOrEqual(7)
        }
        for (const args of byName("EVALSHA")) {
          // Keys go in KEYS, or in ARGV for the scripts that run over one cluster node.
          expect(args.filter((arg) => arg.startsWith(prefix)).length).toBeLessThanOrEqual(7)
        }
        for (const args of byName("SCAN")) {
          expect(args).toContain("7")
          expect(args.slice(-2).map((arg) => arg.toUpperCase())).toEqual(["TYPE", "STRING"])
        }
        await others.expectUntouched()
      },
    )

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
        expect(await ctx.raw.type(`${prefix}mine`)).toBe("hash")
        expect(await store.ids()).toEqual([])
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
    it.each([
      ["tombstones (the default)", {}, ["SET", "GETEX", "GETEX", "EVALSHA", "EVALSHA", "GETDEL"]],
      [
        "tombstoneSeconds: 0",
        {tombstoneSeconds: 0},
        ["SET", "GETEX", "GETEX", "PEXPIRE", "DEL", "DEL"],
      ],
      [
        "touchAfter",
        {touchAfter: 60},
        ["SET", "EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA", "GETDEL"],
      ],
    ] as const)(
      "sends exactly one command for each of get, set, touch and destroy: %s",
      async (_, settings, expected) => {
        const {store, prefix} = newStore(settings)
        const ops: [string, () => Promise<unknown>][] = [
          ["set", () => store.set("a", makeSession())],
          ["get", () => store.get("a")],
          ["get missing", () => store.get("b")],
          ["touch", () => store.touch("a", makeSession(500_000))],
          ["destroy", () => store.destroy("a")],
          ["set with its TTL over", () => store.set("b", makeSession(-1000))],
        ]
        // Once first: a server that has not seen a script yet costs one more trip (NOSCRIPT).
        for (const [, run] of ops) await run()
        for (const [i, [name, run]] of ops.entries()) {
          expect(await ctx.raw.commandsFor(prefix, run), name).toEqual([expected[i]])
        }
      },
    )

    // Everything the clients sent, on every master (a probe PING goes to each), but the
    // test's own and the clients' housekeeping.
    const {everyCommand} = ctx

    it("a logged-out cookie costs one command per call, and wakes no health probe (PING)", async () => {
      const {store} = newStore()
      await store.set("gone", makeSession())
      await store.destroy("gone")
      const calls = async () => {
        expect(await store.get("gone")).toBeNull()
        await store.set("gone", makeSession())
        await store.touch("gone", makeSession())
        await store.set("gone", makeSession(-1000))
        // A last command after them: a PING sent because of them would be recorded by now.
        expect(await store.get("gone")).toBeNull()
      }
      // Once first: a master whose scripts another test flushed costs one more trip (NOSCRIPT).
      await calls()
      const commands = await everyCommand(calls)
      expect(commands).toEqual(["EVALSHA", "GETDEL", "GETEX", "GETEX", "SET"])
    })

    it("loads a script again when the server lost it (NOSCRIPT), and goes on", async () => {
      const {store, prefix} = newStore()
      await store.destroy("warm-up")
      await store.set("a", makeSession())
      await ctx.raw.flushScripts()
      expect(
        await everyCommand(async () => {
          await store.destroy("a")
          await store.get("a")
        }),
        "no PING after NOSCRIPT",
      ).toEqual(["EVAL", "EVALSHA", "GETEX"])
      expect(await ctx.raw.type(`${prefix}a`)).toBe("hash")
      expect(await store.get("a")).toBeNull()
    })

    it.each([
      ["with the time bound", {}],
      ["without it (timeout: 0)", {timeout: 0}],
    ])(
      "re-times and merges again when the server lost the scripts (NOSCRIPT), %s",
      async (_, settings) => {
        const {store, prefix} = newStore(settings)
        await store.set("a", makeSession())
        const loaded = (await store.get("a")) as SessionData
        await ctx.raw.flushScripts()
        // A touch no read covered: the re-time script, sent again by its source.
        await store.touch("b", makeSession(500_000))
        await store.set("b", makeSession())
        await ctx.raw.flushScripts()
        await store.touch("b", makeSession(400_000))
        expect(await ctx.raw.ttl(`${prefix}b`)).toBeGreaterThan(390)
        expect(await ctx.raw.ttl(`${prefix}b`)).toBeLessThanOrEqual(400)
        // A merged save of what was loaded: the write script, sent again by its source.
        await ctx.raw.flushScripts()
        loaded.views = 7
        const sent = await everyCommand(() => store.set("a", loaded))
        expect(sent.filter((name) => name.startsWith("EVAL"))).toEqual(
          expect.arrayContaining(["EVALSHA", "EVAL"]),
        )
        expect(((await store.get("a")) as SessionData).views).toBe(7)
      },
    )
  })

  if (kind.hasKeyPrefix) {
    describe("client keyPrefix (node-redis 6.1+, ioredis, iovalkey)", () => {
      it("combines the client's prefix with the store's, in every method", async () => {
        const clientPrefix = uniquePrefix("cp")
        const prefixed = await connectClient(kind, env().servers, {keyPrefix: clientPrefix})
        try {
          const store = new RedisStore(prefixed.client, {prefix: "sess:"})
          const others = await neighbours(
            `${clientPrefix}other:`,
            `${clientPrefix.slice(0, -1)}sess:`,
          )
          await ctx.raw.set(`${clientPrefix}sess2:x`, "other store")
          const session = makeSession()
          await store.set("a", session)
          await store.set("b", session)
          expect(await ctx.raw.exists(`${clientPrefix}sess:a`)).toBe(true)
          expect(await ctx.raw.exists("sess:a")).toBe(false)
          expect(await store.get("a")).toEqual(asStored(session))
          expect((await store.ids()).sort()).toEqual(["a", "b"])
          expect(await store.length()).toBe(2)
          expect((await store.all()).map((s) => s.id).sort()).toEqual(["a", "b"])
          await store.touch("a", makeSession(500_000))
          expect(await ctx.raw.ttl(`${clientPrefix}sess:a`)).toBeGreaterThan(490)
          await store.destroy("b")
          expect(await ctx.raw.type(`${clientPrefix}sess:b`)).toBe("hash")
          await store.set("b", session)
          expect(await store.get("b")).toBeNull()
          await store.clear()
          expect(await store.ids()).toEqual([])
          for (const key of await ctx.raw.keys(`${clientPrefix}sess:*`)) {
            expect(await ctx.raw.type(key)).toBe("hash")
          }
          expect(await ctx.raw.get(`${clientPrefix}sess2:x`)).toBe("other store")
          await others.expectUntouched()
        } finally {
          await prefixed.close()
        }
      })
    })
  }
}
