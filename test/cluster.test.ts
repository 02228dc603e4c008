import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore} from "../src/index.js"
import {toSessionClient} from "../src/redis/index.js"
import {READ_ON_NODE, TOMBSTONE_ON_NODE} from "../src/redis/scripts.js"
import {type ContractEnv, contractSuite} from "./contract/contract.js"
import {closeClient, connectClient, createLazy, kindsFor} from "./support/clients.js"
import {RawRedis} from "./support/raw-redis.js"
import {type RedisCluster, startCluster} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

describe("Redis Cluster, three masters", () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startCluster(3)
  })
  afterAll(async () => {
    await cluster?.stop()
  })
  const env = (): ContractEnv => ({servers: {cluster}, masters: cluster.nodes})
  for (const kind of kindsFor("cluster")) contractSuite(kind, env)

  const lazyClusters = kindsFor("cluster").filter((kind) => kind.family !== "node-redis")
  describe.each(lazyClusters)("$name built with lazyConnect", (kind) => {
    it("connects on the store's first call, bulk methods included", async () => {
      const client = await createLazy(kind, env().servers)
      try {
        const store = new RedisStore(client, {prefix: uniquePrefix("lazy")})
        expect(await store.length()).toBe(0)
        await store.set("a", makeSession())
        expect(await store.ids()).toEqual(["a"])
      } finally {
        await closeClient(client)
      }
    })
  })

  describe.each(kindsFor("cluster"))("$name: bulk work on Redis 7", (kind) => {
    it("reads and ends a SCAN batch in one command on its master, not one per slot", async () => {
      const connection = await connectClient(kind, env().servers)
      try {
        const raw = new RawRedis(cluster.nodes)
        const prefix = uniquePrefix("batch")
        const store = new RedisStore(connection.client, {prefix, scanCount: 1000})
        const sids = Array.from({length: 120}, (_, i) => `s${i}`)
        await Promise.all(sids.map((sid) => store.set(sid, makeSession())))
        await raw.recordCommands()
        expect(await store.all()).toHaveLength(120)
        await store.clear()
        expect(await store.length()).toBe(0)
        const ours = (await raw.recordedCommands()).filter((args) =>
          args.some((arg) => arg.startsWith(prefix)),
        )
        const named = (name: string, sha?: string) =>
          ours.filter((args) => args[0]?.toUpperCase() === name && (!sha || args[1] === sha))
        const reads = named("EVALSHA", READ_ON_NODE.sha)
        const tombstones = named("EVALSHA", TOMBSTONE_ON_NODE.sha)
        // Slot by slot it would be 120 of each (the 120 keys fall in about 120 slots).
        expect(named("MGET")).toEqual([])
        expect(reads.length).toBeGreaterThanOrEqual(3)
        expect(reads.length).toBeLessThan(60)
        expect(tombstones.length).toBeGreaterThanOrEqual(1)
        expect(tombstones.length).toBeLessThan(60)
        const keysOf = (args: string[]) => args.filter((arg) => arg.startsWith(prefix))
        for (const args of [...reads, ...tombstones]) {
          expect(keysOf(args).length).toBeLessThanOrEqual(1000)
        }
        expect(Math.max(...tombstones.map((args) => keysOf(args).length))).toBeGreaterThan(1)
        for (const sid of sids) expect(await raw.type(`${prefix}${sid}`)).toBe("hash")
      } finally {
        await connection.close()
      }
    })
  })

  describe.each(kindsFor("cluster"))("$name: keys whose slot has moved since SCAN", (kind) => {
    it("reads and deletes them through the cluster client (MOVED is followed)", async () => {
      const connection = await connectClient(kind, env().servers)
      try {
        const raw = new RawRedis(cluster.nodes)
        const prefix = uniquePrefix()
        const keys = Array.from({length: 30}, (_, i) => `${prefix}${i}`)
        for (const key of keys) await raw.set(key, `value of ${key}`)
        const adapter = toSessionClient(connection.client)
        // Every master's batch, handed to the client of a master that owns none of it: the
        // real servers answer MOVED, as they do for a slot migrated between SCAN and MGET.
        const byMaster = new Map<unknown, string[]>()
        for await (const batch of adapter.scan(prefix, 100)) {
          byMaster.set(batch.source, [...(byMaster.get(batch.source) ?? []), ...batch.keys])
        }
        const sources = [...byMaster.keys()]
        expect(sources.length).toBeGreaterThan(1)
        for (const [i, source] of sources.entries()) {
          const wrong = sources[(i + 1) % sources.length]
          const found = byMaster.get(source) ?? []
          expect(await adapter.readMany(found, wrong)).toEqual(
            found.map((key) => `value of ${key}`),
          )
          // Tombstones off (toSessionClient's default): ending them is UNLINK, which counts.
          expect(await adapter.endMany(found, wrong)).toBe(found.length)
        }
        expect(await raw.keys(`${prefix}*`)).toEqual([])
      } finally {
        await connection.close()
      }
    })
  })
})
