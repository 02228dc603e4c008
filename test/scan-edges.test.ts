// What SCAN is allowed to do and a Redis under load may do: return a key twice, return more
// keys than COUNT, and return a key that is gone by the time we read it. A real client is
// wrapped so that the real server behaves that way on cue; Redis itself is not mocked.

import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import {CLIENT_KINDS, connectClient, type TestClient} from "./support/clients.js"
import {RawRedis} from "./support/raw-redis.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

type Method = (...args: never[]) => Promise<unknown>

/**
 * The same client, with some methods replaced (the originals stay reachable). The copy a
 * store makes to attach an abort signal (node-redis 5/6 `withCommandOptions`) is wrapped too.
 */
function wrap(client: RedisClientLike, replace: Record<string, (original: Method) => Method>) {
  return new Proxy(client, {
    get(target, property) {
      // The target as receiver: node-redis getters read private fields.
      const value = Reflect.get(target, property, target)
      const original = typeof value === "function" ? (value.bind(target) as Method) : undefined
      if (property === "withCommandOptions" && original) {
        return (...args: never[]) => wrap(original(...args) as unknown as RedisClientLike, replace)
      }
      // GLIDE sends SCAN as a custom command: `scan` replaces that one.
      if (property === "customCommand" && original && replace.scan) {
        const scan = replace.scan(original)
        return (...args: never[]) =>
          ((args[0] as unknown as string[])[0] === "SCAN" ? scan : original)(...args)
      }
      if (typeof property === "string" && original && replace[property]) {
        return replace[property](original)
      }
      return original ?? value
    },
  })
}

describe.each(CLIENT_KINDS.filter((kind) => kind.topology === "standalone"))("$name", (kind) => {
  let server: RedisServer
  let connection: TestClient
  let raw: RawRedis
  beforeAll(async () => {
    server = await startRedisServer()
    connection = await connectClient(kind, {standalone: server})
    raw = new RawRedis([server])
  })
  afterAll(async () => {
    await connection?.close()
    await server?.stop()
  })

  async function seed(prefix: string, count: number) {
    const store = new RedisStore(connection.client, {prefix})
    await Promise.all(Array.from({length: count}, (_, i) => store.set(`s${i}`, makeSession())))
  }

  it("drops the duplicates SCAN returns and still sends at most scanCount keys a command", async () => {
    const prefix = uniquePrefix()
    await seed(prefix, 50)
    type ScanReply = {cursor: unknown; keys: unknown[]} | [cursor: unknown, keys: unknown[]]
    let doubled = 0
    const doubling = wrap(connection.client, {
      scan:
        (scan) =>
        async (...args) => {
          const reply = (await scan(...args)) as ScanReply
          doubled++
          // ioredis and GLIDE answer [cursor, keys]; node-redis {cursor, keys}.
          if (Array.isArray(reply)) return [reply[0], [...reply[1], ...reply[1]]]
          return {cursor: reply.cursor, keys: [...reply.keys, ...reply.keys]}
        },
    })
    const store = new RedisStore(doubling, {prefix, scanCount: 10})
    await raw.recordCommands()
    expect(await store.length()).toBe(50)
    const ids = await store.ids()
    expect(ids).toHaveLength(50)
    expect(new Set(ids).size).toBe(50)
    expect(doubled).toBeGreaterThan(0)
    const all = await store.all()
    expect(all.map((session) => session.id).sort()).toEqual([...ids].sort())
    const mgets = (await raw.recordedCommands()).filter((args) => args[0]?.toUpperCase() === "MGET")
    expect(mgets.length).toBeGreaterThanOrEqual(5)
    for (const args of mgets) expect(args.length - 1).toBeLessThanOrEqual(10)
  })

  it("skips a session that vanishes between SCAN and the read", async () => {
    const prefix = uniquePrefix()
    await seed(prefix, 20)
    const vanished: string[] = []
    const vanishFirst: (original: Method) => Method =
      (mget) =>
      async (...args) => {
        // node-redis 4 gets the command options first: the keys are the first array.
        // ioredis gets the keys as arguments.
        const keys = ((args as unknown[]).find(Array.isArray) ?? args) as string[]
        const first = keys[0] as string
        vanished.push(first.slice(prefix.length))
        await raw.onKey(first, "DEL", first)
        return mget(...args)
      }
    const racing = wrap(connection.client, {mGet: vanishFirst, mget: vanishFirst})
    const store = new RedisStore(racing, {prefix, scanCount: 5})
    const all = await store.all()
    expect(vanished.length).toBeGreaterThan(0)
    expect(all).toHaveLength(20 - vanished.length)
    for (const session of all) expect(vanished).not.toContain(session.id)
  })

  it("fails bulk work with the server's error, and reports it, when a command fails", async () => {
    const prefix = uniquePrefix()
    await seed(prefix, 3)
    const failing = wrap(connection.client, {
      scan: () => async () => {
        throw new Error("READONLY You can't write against a read only replica.")
      },
    })
    const store = new RedisStore(failing, {prefix})
    await expect(store.all()).rejects.toThrow(/READONLY/)
    await expect(store.clear()).rejects.toThrow(/READONLY/)
    expect(await raw.keys(`${prefix}*`)).toHaveLength(3)
  })
})
