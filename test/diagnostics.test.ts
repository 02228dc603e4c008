// Diagnostics channels where servers fail: a call in a stall ends with outcome timed-out and
// the connection channel says disconnect then connect (every standalone client kind); in
// redundant mode the server channel names the server that went down and came back, and a
// call's context names the servers that failed it. The contract (test/contract/diagnostics.ts)
// covers every operation's outcomes on every client kind.

import {inspect} from "node:util"
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi} from "vitest"
import {type ConnectionMessage, RedisStore, type ServerMessage} from "../src/index.js"
import {CLIENT_KINDS, connectClient, kindsFor, type TestClient} from "./support/clients.js"
import {type Recorder, record} from "./support/diagnostics.js"
import {RestartableServer} from "./support/outages.js"
import type {RedisServer} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

const TIMEOUT_MS = 300
const WAIT = {timeout: 15_000, interval: 20}
const REJECTED = ["start", "end", "error", "asyncStart", "asyncEnd"]

let recorder: Recorder | undefined
afterEach(() => {
  recorder?.stop()
  recorder = undefined
})

describe.each(kindsFor("standalone"))("diagnostics in a stall, with a $name", (kind) => {
  let server: RestartableServer
  let connection: TestClient

  beforeAll(async () => {
    server = await RestartableServer.start()
    connection = await connectClient(kind, {standalone: {url: server.url} as RedisServer})
  })
  afterAll(async () => {
    server?.resume()
    await connection?.close()
    await server?.stop()
  })

  it("a call in a stall ends in error, outcome timed-out; the connection channel says disconnect, then connect", async () => {
    const prefix = uniquePrefix("diag-stall")
    const store = new RedisStore(connection.client, {prefix, timeout: TIMEOUT_MS})
    recorder = record(prefix)
    await store.set("a", makeSession())
    server.pause()
    try {
      await expect(store.get("a")).rejects.toMatchObject({code: "ETIMEDOUT"})
      // The outage is known by then: refused at once.
      await expect(store.set("b", makeSession())).rejects.toMatchObject({code: "ENOTCONN"})
    } finally {
      server.resume()
    }
    const connectionEvents = () =>
      (recorder?.messages.get("redis-session-store:connection") ?? []) as ConnectionMessage[]
    await vi.waitFor(
      () => expect(connectionEvents().map((m) => m.event)).toEqual(["disconnect", "connect"]),
      WAIT,
    )
    expect(connectionEvents()[0]).toMatchObject({prefix, reason: expect.any(Error)})
    console.log(
      JSON.stringify(recorder.events.map((e) => [e.operation, e.event, e.context.outcome])),
    )
    const failed = [...recorder.finished("get"), ...recorder.finished("set").slice(1)]
    expect(failed.map((c) => [c.operation, c.outcome])).toEqual([
      ["get", "timed-out"],
      ["set", "unavailable"],
    ])
    expect(failed.map((c) => (c.error as {code?: unknown}).code)).toEqual(["ETIMEDOUT", "ENOTCONN"])
    for (const context of failed) expect(recorder.eventsOf(context)).toEqual(REJECTED)
    expect(await store.get("a")).not.toBeNull()
  })

  it("a reply error from Redis (OOM): outcome failed; neither the error nor a payload holds the id or the data", async () => {
    const prefix = uniquePrefix("diag-oom")
    const store = new RedisStore(connection.client, {prefix, timeout: TIMEOUT_MS})
    recorder = record(prefix)
    const sid = "Pw4Jt9Qa2Xe7Lb5Nc0Rv3Uk8"
    const secret = "data-only-the-user-has-5150"
    await server.command("CONFIG", "SET", "maxmemory", "1")
    let error: unknown
    try {
      error = await store.set(sid, makeSession(60_000, {secret} as never)).catch((e) => e)
    } finally {
      await server.command("CONFIG", "SET", "maxmemory", "0")
    }
    expect(String(error)).toMatch(/OOM/)
    // What a logger that prints every field (pino, util.inspect) would write.
    const printed = `${JSON.stringify({...(error as object)})} ${inspect(error, {showHidden: true, depth: 8})}`
    expect(printed).not.toContain(sid)
    expect(printed).not.toContain(secret)
    const [failed] = recorder.finished("set")
    expect([failed?.outcome, failed?.error]).toEqual(["failed", error])
    expect(recorder.everythingPrinted()).not.toContain(sid)
    expect(recorder.everythingPrinted()).not.toContain(secret)
  })
})

describe("diagnostics in redundant mode", () => {
  const kinds = ["node-redis 6 client", "ioredis 6 client"].map((name) =>
    CLIENT_KINDS.find((kind) => kind.name === name),
  )
  let servers: RestartableServer[]
  let connections: TestClient[]

  beforeEach(async () => {
    servers = await Promise.all(kinds.map(() => RestartableServer.start()))
    connections = await Promise.all(
      servers.map((server, i) =>
        connectClient(kinds[i] as never, {standalone: {url: server.url} as RedisServer}),
      ),
    )
  })
  afterEach(async () => {
    await Promise.all(connections.map((connection) => connection.close()))
    await Promise.all(servers.map((server) => server.stop()))
  })

  it("a server stalled: the call that met it names it in failedServers; the server channel says down, then up", async () => {
    const prefix = uniquePrefix("diag-red")
    const clients = connections.map((connection) => connection.client)
    const store = new RedisStore({clients, prefix, timeout: TIMEOUT_MS})
    store.on("serverError", () => {})
    recorder = record(prefix)
    await store.set("a", makeSession())
    servers[1]?.pause()
    try {
      // A read asks every server: this one waits for the stalled one's bound, then answers.
      expect(await store.get("a")).not.toBeNull()
      const serverEvents = () =>
        ((recorder?.messages.get("redis-session-store:server") ?? []) as ServerMessage[])
          .filter((m) => m.event !== "serverError")
          .map((m) => `${m.event} ${m.server}`)
      await vi.waitFor(() => expect(serverEvents()).toEqual(["serverDown clients[1]"]), WAIT)
      servers[1]?.resume()
      await vi.waitFor(
        () => expect(serverEvents()).toEqual(["serverDown clients[1]", "serverUp clients[1]"]),
        WAIT,
      )
    } finally {
      servers[1]?.resume()
    }
    const [written] = recorder.finished("set")
    const [read] = recorder.finished("get")
    expect(written?.failedServers).toBeUndefined()
    expect([read?.outcome, read?.failedServers]).toEqual(["hit", ["clients[1]"]])
    const messages = (recorder.messages.get("redis-session-store:server") ?? []) as ServerMessage[]
    expect(messages.find((m) => m.event === "serverError")).toMatchObject({
      prefix,
      server: "clients[1]",
      reason: expect.objectContaining({code: "ETIMEDOUT"}),
    })
  })
})
