import {afterAll, beforeAll, describe} from "vitest"
import {kindsFor} from "./helpers/clients.js"
import {type ContractEnv, contractSuite} from "./helpers/contract.js"
import {type RedisCluster, startCluster} from "./helpers/redis-servers.js"

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
})
