// The contract every supported client kind must meet. Each test file starts the servers for
// one topology and calls contractSuite() for every client kind of that topology. The tests
// themselves are in contract-*.ts, one file per area, sharing the context built here.

import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore, type RedisStoreSettings} from "../../src/index.js"
import {HEARTBEAT} from "../../src/redis/families/glide.js"
import {type ClientKind, connectClient, type Servers, type TestClient} from "../support/clients.js"
import {RawRedis} from "../support/raw-redis.js"
import type {RedisServer} from "../support/redis-servers.js"
import {makeSession, uniquePrefix} from "../support/sessions.js"
import {bulkContract} from "./bulk.js"
import {coreContract} from "./core.js"
import {diagnosticsContract} from "./diagnostics.js"
import {inputContract} from "./input.js"
import {logoutContract} from "./logout.js"
import {mergeContract} from "./merge.js"
import {ownerContract} from "./owner.js"
import {renewalContract} from "./renewal.js"

export interface ContractEnv {
  servers: Servers
  /** Every master, for checking what is really stored. */
  masters: RedisServer[]
}

/** What every part of the contract gets: the client under test and a direct line to Redis. */
export interface ContractContext {
  readonly kind: ClientKind
  readonly env: () => ContractEnv
  /** The connected client (valid inside tests, not at collection time). */
  readonly connection: TestClient
  /** Reads and writes Redis directly, never through the code under test. */
  readonly raw: RawRedis
  /** A store on the client with a prefix of its own (unless `settings.prefix` is given). */
  newStore(settings?: RedisStoreSettings): {store: RedisStore; prefix: string}
  /**
   * The commands clients sent (on every master) while `run` ran, by name, sorted; the
   * servers' own housekeeping and the GLIDE heartbeat left out.
   */
  everyCommand(run: () => Promise<unknown>): Promise<string[]>
  /** Keys of another app (and another store) that no operation may touch. */
  neighbours(...prefixes: string[]): Promise<{expectUntouched(): Promise<void>}>
}

export function contractSuite(kind: ClientKind, env: () => ContractEnv): void {
  describe(kind.name, () => {
    let connection: TestClient | undefined
    let raw: RawRedis | undefined

    beforeAll(async () => {
      connection = await connectClient(kind, env().servers)
      raw = new RawRedis(env().masters)
    })
    afterAll(async () => {
      await connection?.close()
    })

    const ctx: ContractContext = {
      kind,
      env,
      get connection() {
        if (connection === undefined) throw new Error("The client is connected in beforeAll")
        return connection
      },
      get raw() {
        if (raw === undefined) throw new Error("RawRedis is built in beforeAll")
        return raw
      },
      newStore(settings = {}) {
        const prefix = settings.prefix ?? uniquePrefix()
        return {store: new RedisStore(ctx.connection.client, {...settings, prefix}), prefix}
      },
      async everyCommand(run) {
        await ctx.raw.recordCommands()
        await run()
        const housekeeping = ["SLOWLOG", "CONFIG", "CLUSTER", "INFO", "CLIENT", "COMMAND"]
        // The store's GLIDE heartbeat is a named PING, once a second, whatever the calls.
        const heartbeat = (args: string[]) => args.join(" ") === HEARTBEAT.join(" ")
        return (await ctx.raw.recordedCommands())
          .filter((args) => !heartbeat(args))
          .map((args) => String(args[0]).toUpperCase())
          .filter((name) => !housekeeping.includes(name))
          .sort()
      },
      async neighbours(...prefixes) {
        const own = uniquePrefix("n")
        const keys = [`${own}x`, ...prefixes.map((prefix) => `${prefix}neighbour`)]
        for (const key of keys) await ctx.raw.set(key, JSON.stringify(makeSession()))
        const before = Object.fromEntries(
          await Promise.all(keys.map(async (key) => [key, await ctx.raw.get(key)] as const)),
        )
        return {
          async expectUntouched() {
            for (const [key, value] of Object.entries(before)) {
              expect(await ctx.raw.get(key)).toBe(value)
            }
          },
        }
      },
    }

    coreContract(ctx)
    inputContract(ctx)
    bulkContract(ctx)
    logoutContract(ctx)
    ownerContract(ctx)
    mergeContract(ctx)
    renewalContract(ctx)
    diagnosticsContract(ctx)

    it("saw no client errors", () => {
      expect(ctx.connection.errors).toEqual([])
    })
  })
}
