import {afterAll, beforeAll, describe} from "vitest"
import {kindsFor} from "./helpers/clients.js"
import {type ContractEnv, contractSuite} from "./helpers/contract.js"
import {type RedisSentinelSetup, startSentinel} from "./helpers/redis-servers.js"

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
