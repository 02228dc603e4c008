// A callback that throws, as an app's may: run in a child process, where the error can
// surface as it would in an app (the test runner would catch it otherwise).

import {spawnSync} from "node:child_process"
import {fileURLToPath} from "node:url"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"

const fixture = fileURLToPath(new URL("./fixtures/throwing-callbacks.ts", import.meta.url))

describe("a callback that throws", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("is called once, and its error reaches the process as an uncaught exception", () => {
    const child = spawnSync(process.execPath, ["--import", "tsx", fixture, server.url], {
      encoding: "utf8",
      timeout: 20_000,
    })
    expect(child.stderr).toBe("")
    const seen = JSON.parse(child.stdout) as {
      calls: Record<string, number>
      uncaught: string[]
      unhandled: string[]
    }
    const names = ["set", "get", "get with a bad id", "touch", "destroy", "length"]
    expect(seen.calls).toEqual(Object.fromEntries(names.map((name) => [name, 1])))
    expect(seen.uncaught).toEqual(names.map((name) => `${name} threw`))
    // Not also a rejected promise of ours that nobody holds.
    expect(seen.unhandled).toEqual([])
  })
})
