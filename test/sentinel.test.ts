import {afterAll, beforeAll, describe} from "vitest"
import {type ContractEnv, contractSuite} from "./contract/contract.js"
import {kindsFor} from "./support/clients.js"
import {type RedisSentinelSetup, startSentinel} from "./support/redis-servers.js"

describe("Redis Sentinel (master, replica, sentinel)", () => {
  let sentinel: RedisSentinelSetup
  beforeAll(async () => {
    sentinel = await startSentinel()
  })
  afterAll(async () => {
    await sentinel?.stop()
  })
  const env = (): ContractEnv => ({servers: {sentinel}, masters: [sentinel.master]})
  for (const kind of kindsFor("sentinel")) contractSuite(kind, env)
})
