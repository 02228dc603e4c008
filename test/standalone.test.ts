import {afterAll, beforeAll, describe} from "vitest"
import {type ContractEnv, contractSuite} from "./contract/contract.js"
import {kindsFor, type Servers} from "./support/clients.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"

describe("standalone Redis", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server?.stop()
  })
  const env = (): ContractEnv => ({
    servers: {standalone: server} satisfies Servers,
    masters: [server],
  })
  for (const kind of kindsFor("standalone")) contractSuite(kind, env)
})
