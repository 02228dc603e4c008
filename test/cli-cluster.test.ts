import {createCluster} from "redis"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import {CLIENT_PACKAGES} from "../src/redis/cli-connection.js"
import {cli, owner, userSession} from "./support/cli.js"
import {type RedisCluster, type RedisServer, startCluster} from "./support/redis-servers.js"
import {uniquePrefix} from "./support/sessions.js"

describe("the admin command line on a cluster", () => {
  let cluster: RedisCluster
  let client: ReturnType<typeof createCluster>

  beforeAll(async () => {
    cluster = await startCluster()
    client = createCluster({rootNodes: cluster.rootNodes})
    await client.connect()
  })
  afterAll(async () => {
    client?.destroy()
    await cluster?.stop()
  })

  it.each(CLIENT_PACKAGES)(
    "--client %s: a cluster node's URL without --cluster is refused, never counted alone",
    async (package_) => {
      const url = cluster.rootNodes[0]?.url as string
      const outcome = await cli(["count", "--client", package_, "--url", url])
      expect(outcome.code).toBe(2)
      expect(outcome.stdout).toBe("")
      expect(outcome.stderr).toContain("the URL is a node of a Redis Cluster: add --cluster")
    },
  )

  it.each(CLIENT_PACKAGES)(
    "--client %s: counts, revokes one owner's sessions across slots, and clears every master",
    async (package_) => {
      const prefix = uniquePrefix("cli-cluster")
      const store = new RedisStore({client: client as unknown as RedisClientLike, prefix, owner})
      const sids = Array.from({length: 30}, (_, i) => `s${i}`)
      await Promise.all(sids.map((sid, i) => store.set(sid, userSession(i % 3))))
      const holding = await Promise.all(
        cluster.nodes.map(
          async (node) => ((await node.command("KEYS", `${prefix}*`)) as []).length,
        ),
      )
      expect(holding.filter((keys) => keys > 0)).toHaveLength(3) // spread over every master
      const url = cluster.rootNodes[0]?.url as string
      const base = ["--cluster", "--client", package_, "--url", url, "--prefix", prefix]
      expect((await cli(["count", ...base])).stdout).toBe("30\n")
      const revoked = await cli(["revoke-owner", "0", "--owner-field", "user.id", ...base])
      expect(revoked).toMatchObject({code: 0, stdout: "revoked 10 session(s) of 0\n"})
      expect(await store.length()).toBe(20)
      expect(await store.sessionsOf(0)).toEqual([])
      expect((await cli(["clear", "--yes", ...base])).code).toBe(0)
      expect(await store.length()).toBe(0)
    },
  )
})

describe("the admin command line on a cluster that needs a password", () => {
  const password = "cli-s3cret"
  let cluster: RedisCluster
  let client: ReturnType<typeof createCluster>

  beforeAll(async () => {
    cluster = await startCluster()
    for (const node of cluster.nodes) {
      expect(await node.command("CONFIG", "SET", "requirepass", password)).toBe("OK")
    }
    client = createCluster({rootNodes: cluster.rootNodes, defaults: {password}})
    await client.connect()
  })
  afterAll(async () => {
    client?.destroy()
    await cluster?.stop()
  })

  it.each(CLIENT_PACKAGES)(
    "--client %s: the URL's password reaches every master",
    async (package_) => {
      const prefix = uniquePrefix("cli-auth")
      const store = new RedisStore({client: client as unknown as RedisClientLike, prefix})
      await Promise.all(Array.from({length: 30}, (_, i) => store.set(`s${i}`, userSession(i))))
      const {host, port} = cluster.nodes[0] as RedisServer
      const args = ["count", "--cluster", "--client", package_, "--prefix", prefix]
      const counted = await cli([...args, "--url", `redis://:${password}@${host}:${port}`])
      expect(counted).toMatchObject({code: 0, stdout: "30\n"})
      const refused = await cli([...args, "--url", `redis://:wrong-${password}@${host}:${port}`])
      expect(refused.code).toBe(3)
      expect(refused.stderr).not.toContain(password)
    },
  )
})
