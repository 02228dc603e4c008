import {afterAll, beforeAll, describe} from "vitest"
import {kindsFor, type Servers} from "./helpers/clients.js"
import {type ContractEnv, contractSuite} from "./helpers/contract.js"
import {type RedisServer, startRedisServer} from "./helpers/redis-servers.js"

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
