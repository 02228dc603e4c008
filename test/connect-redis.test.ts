// connect-redis 10 and 11 beside the store, on the same Redis and prefix, as during a
// migration, a rolling deploy or a rollback: each reads, renews and rewrites what the other
// wrote, and with tombstoneSeconds: 0 (docs/migrating.md) a logout by either is a logout for
// both. node-redis 5 and 6, plain and cluster (connect-redis 11 needs node-redis 5 or later);
// connect-redis 10 also on node-redis 4.

import {RedisStore as ConnectRedis10} from "connect-redis"
import {RedisStore as ConnectRedis11} from "connect-redis11"
import type {SessionData, Store} from "express-session"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {RedisStore, type RedisStoreOptions} from "../src/index.js"
import {
  CLIENT_KINDS,
  type ClientKind,
  connectClient,
  type Servers,
  type TestClient,
} from "./support/clients.js"
import {RawRedis} from "./support/raw-redis.js"
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedisServer,
} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

type TheirStore = new (options: {client: unknown; prefix: string}) => Store

const VERSIONS: {name: string; Store: TheirStore; clients: number[]}[] = [
  {name: "connect-redis 10", Store: ConnectRedis10 as unknown as TheirStore, clients: [4, 5, 6]},
  {name: "connect-redis 11", Store: ConnectRedis11 as unknown as TheirStore, clients: [5, 6]},
]

/** express-session's callback API, which both stores serve, as promises. */
function call<T>(run: (done: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value))),
  )
}
const theirGet = (store: Store, sid: string) =>
  call<SessionData | null>((done) => store.get(sid, done))
const theirSet = (store: Store, sid: string, session: SessionData) =>
  call<void>((done) => store.set(sid, session, done))
const theirTouch = (store: Store, sid: string, session: SessionData) =>
  call<void>((done) => {
    if (store.touch === undefined) done(new Error("this store has no touch"))
    else store.touch(sid, session, (error?: unknown) => done(error))
  })
const theirDestroy = (store: Store, sid: string) => call<void>((done) => store.destroy(sid, done))

let server: RedisServer
let cluster: RedisCluster
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedisServer(), startCluster()])
})
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

for (const version of VERSIONS) {
  const kinds = CLIENT_KINDS.filter(
    (kind) =>
      kind.family === "node-redis" &&
      version.clients.includes(kind.version) &&
      (kind.topology === "standalone" || (kind.topology === "cluster" && kind.version === 6)),
  )
  for (const kind of kinds)
    describe(`${version.name} beside the store, ${kind.name}`, () =>
      sideBySide(version.Store, kind))
}

function sideBySide(Theirs: TheirStore, kind: ClientKind): void {
  let connection: TestClient
  let raw: RawRedis
  beforeAll(async () => {
    const servers: Servers = kind.topology === "cluster" ? {cluster} : {standalone: server}
    connection = await connectClient(kind, servers)
    raw = new RawRedis(kind.topology === "cluster" ? cluster.nodes : [server])
  })
  afterAll(async () => {
    await connection?.close()
  })
  const pair = (settings: RedisStoreOptions = {}) => {
    const prefix = uniquePrefix("cr")
    return {
      prefix,
      ours: new RedisStore(connection.client, {prefix, ...settings}),
      theirs: new Theirs({client: connection.client, prefix}),
    }
  }

  it("the store reads, renews and rewrites what connect-redis wrote, and it reads that back", async () => {
    const {prefix, ours, theirs} = pair()
    await theirSet(theirs, "a", makeSession(600_000, {views: 1}))
    const loaded = (await ours.get("a")) as SessionData
    expect(asStored(loaded)).toEqual(await theirGet(theirs, "a"))

    await raw.onKey(`${prefix}a`, "EXPIRE", `${prefix}a`, 30)
    await ours.touch("a", makeSession(600_000, {views: 1}))
    expect(await raw.ttl(`${prefix}a`)).toBeGreaterThan(590)

    await ours.set("a", {...loaded, views: 2})
    const back = await theirGet(theirs, "a")
    expect(back?.views).toBe(2)
    expect(back?.user).toEqual({id: 7, name: "Ada"})
  })

  it("connect-redis reads, renews and rewrites what the store wrote (creation time and all)", async () => {
    const {prefix, ours, theirs} = pair({absoluteTimeout: 3600})
    await ours.set("b", makeSession(600_000, {cart: [4]}))
    const ourView = await ours.get("b")
    const theirView = await theirGet(theirs, "b")
    expect(theirView).toEqual(asStored(ourView as SessionData))
    expect(typeof theirView?.sessionCreatedAt).toBe("number")

    await raw.onKey(`${prefix}b`, "EXPIRE", `${prefix}b`, 30)
    await theirTouch(theirs, "b", makeSession(600_000))
    expect(await raw.ttl(`${prefix}b`)).toBeGreaterThan(590)

    await theirSet(theirs, "b", {...(theirView as SessionData), cart: [4, 5]})
    expect((await ours.get("b"))?.cart).toEqual([4, 5])
  })

  it("with tombstoneSeconds: 0, a logout by either store is a logout for both", async () => {
    const {ours, theirs} = pair({tombstoneSeconds: 0})
    await ours.set("x", makeSession())
    await ours.set("y", makeSession())
    await ours.destroy("x")
    expect(await theirGet(theirs, "x")).toBeFalsy()
    await theirDestroy(theirs, "y")
    expect(await ours.get("y")).toBeNull()
  })

  it("with tombstones on, connect-redis answers a logged-out cookie with WRONGTYPE, as docs/migrating.md says", async () => {
    const {ours, theirs} = pair()
    await ours.set("z", makeSession())
    await ours.destroy("z")
    await expect(theirGet(theirs, "z")).rejects.toThrow(/WRONGTYPE/)
    // The store itself still answers the cookie: logged out.
    expect(await ours.get("z")).toBeNull()
  })
}
