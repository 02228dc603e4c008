// Failovers with real processes: a cluster master killed (its replica promoted) and a
// sentinel's master killed. Sessions written before are read after, writes go on, and bulk
// methods see every master; the store says "disconnect", then "connect".

import type {SessionData} from "express-session"
import {describe, expect, it, vi} from "vitest"
import {RedisStore} from "../src/index.js"
import {connectClient, kindsFor, type TestClient} from "./support/clients.js"
import {replicaCaughtUp, startFailoverCluster} from "./support/outages.js"
import {type RedisCluster, startSentinel} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const RECOVERY = {timeout: 30_000, interval: 100}

async function writeSessions(store: RedisStore, count: number) {
  const sessions = new Map<string, SessionData>()
  for (let i = 0; i < count; i++) {
    const session = makeSession(600_000, {views: i})
    await store.set(`s${i}`, session)
    sessions.set(`s${i}`, session)
  }
  return sessions
}

/** Every session readable again, new writes accepted, bulk work over every master. */
async function expectRecovered(store: RedisStore, sessions: Map<string, SessionData>) {
  await vi.waitFor(async () => {
    for (const [sid, session] of sessions) expect(await store.get(sid)).toEqual(asStored(session))
  }, RECOVERY)
  const fresh = makeSession(600_000, {views: -1})
  await store.set("after", fresh)
  expect(await store.get("after")).toEqual(asStored(fresh))
  expect((await store.ids()).sort()).toEqual([...sessions.keys(), "after"].sort())
  expect(await store.length()).toBe(sessions.size + 1)
}

function recordEvents(store: RedisStore): string[] {
  const events: string[] = []
  store.on("disconnect", () => events.push("disconnect"))
  store.on("connect", () => events.push("connect"))
  return events
}

describe.each(kindsFor("cluster"))("failover with a $name", (kind) => {
  it("a master dies, its replica takes over: sessions kept, writes go on", async () => {
    const cluster = await startFailoverCluster()
    let connection: TestClient | undefined
    try {
      const servers = {cluster: {rootNodes: cluster.rootNodes} as RedisCluster}
      connection = await connectClient(kind, servers)
      const store = new RedisStore(connection.client, {prefix: uniquePrefix("fo"), timeout: 500})
      const events = recordEvents(store)
      const sessions = await writeSessions(store, 30)
      await cluster.killMaster(0)
      await expectRecovered(store, sessions)
      if (kind.family === "glide") {
        // GLIDE follows the promoted replica by itself, often before any command of ours
        // fails or its heartbeat sees the dead master: then there is nothing to announce.
        // Whatever it saw, the store must not be left disconnected.
        await vi.waitFor(
          () => expect([[], ["disconnect", "connect"]]).toContainEqual(events),
          RECOVERY,
        )
      } else {
        await vi.waitFor(() => expect(events).toEqual(["disconnect", "connect"]), RECOVERY)
      }
    } finally {
      await connection?.close()
      await cluster.stop()
    }
  })
})

describe.each(kindsFor("sentinel"))("failover with a $name", (kind) => {
  it("the master dies, the sentinel promotes the replica: sessions kept, writes go on", async () => {
    const setup = await startSentinel("failover", {downAfterMs: 500})
    let connection: TestClient | undefined
    try {
      connection = await connectClient(kind, {sentinel: setup})
      const store = new RedisStore(connection.client, {prefix: uniquePrefix("fo"), timeout: 500})
      const events = recordEvents(store)
      const sessions = await writeSessions(store, 10)
      await replicaCaughtUp(setup.master, setup.replica)
      process.kill(setup.master.pid, "SIGKILL")
      await expectRecovered(store, sessions)
      expect(String(await setup.replica.command("INFO", "replication"))).toContain("role:master")
      await vi.waitFor(() => expect(events.at(-1)).toBe("connect"), RECOVERY)
      expect(events[0]).toBe("disconnect")
    } finally {
      await connection?.close()
      await setup.stop()
    }
  })
})
