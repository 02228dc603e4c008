// Concurrent requests of one user never lose each other's changes (concurrentWrites "merge"):
// a model-based test over random interleavings, many saves at once, real HTTP with
// express-session (and what @fastify/session users get), serializers, the bound on retries,
// the owner index, and the options. The per-client-kind contract is in contract/merge.ts.

import type {AddressInfo} from "node:net"
import express from "express"
import session from "express-session"
import fc from "fast-check"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {resolveCart} from "../examples/resolve-cart.js"
import {
  ConcurrentWriteError,
  encryptedSerializer,
  isRedisSessionStoreError,
  RedisStore,
  type RedisStoreSettings,
} from "../src/index.js"
import {load} from "./contract/merge.js"
import {Browser} from "./support/browser.js"
import {CLIENT_KINDS, type ClientKind, connectClient, type TestClient} from "./support/clients.js"
import {startFastifyApp} from "./support/fastify-app.js"
import {RawRedis} from "./support/raw-redis.js"
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedisServer,
} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

type Fields = Record<string, unknown>

let server: RedisServer
let cluster: RedisCluster
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedisServer(), startCluster(3)])
})
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

const kind = (name: string) => CLIENT_KINDS.find((k) => k.name === name) as ClientKind

/** The fields of a stored session but its cookie, in their JSON form. */
function fieldsOf(stored: unknown): Fields {
  const {cookie: _cookie, ...fields} = JSON.parse(JSON.stringify(stored ?? {})) as Fields
  return fields
}

describe.each(["node-redis 6 client", "node-redis 6 cluster", "ioredis 6 client"])(
  "model: random interleavings of 2 to 8 requests, on a %s",
  (name) => {
    let connection: TestClient
    beforeAll(async () => {
      connection = await connectClient(kind(name), {standalone: server, cluster})
    })
    afterAll(async () => connection?.close())

    const FIELDS = ["a", "b", "c", "d", "e", "f"]
    const value = fc.oneof(
      fc.integer(),
      fc.string({maxLength: 8}),
      fc.date({noInvalidDate: true}),
      fc.record({n: fc.integer(), list: fc.array(fc.integer(), {maxLength: 3})}),
    )
    // A request: its changes in order (undefined deletes the field), and when it loads and
    // saves (it saves after it loads; other requests load and save in between).
    const request = fc.record({
      changes: fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(value, {nil: undefined})), {
        minLength: 1,
        maxLength: 4,
      }),
      loadAt: fc.nat(100),
      saveAfter: fc.nat(100),
    })

    it("the stored session is what applying each request's own changes gives", async () => {
      const store = new RedisStore(connection.client, {prefix: uniquePrefix("model")})
      let run = 0
      await fc.assert(
        fc.asyncProperty(
          fc.array(request, {minLength: 2, maxLength: 8}),
          fc.dictionary(fc.constantFrom(...FIELDS), value),
          async (requests, initial) => {
            const sid = `s${run++}`
            await store.set(sid, makeSession(60_000, initial as Fields))
            // The model: the fields, as each save should leave them.
            let model = fieldsOf(await store.get(sid))
            const events = requests.flatMap((r, i) => [
              {i, save: false, at: r.loadAt},
              {i, save: true, at: r.loadAt + r.saveAfter + 0.5},
            ])
            events.sort((x, y) => x.at - y.at)
            const loaded = new Map<number, {session: Fields; base: Fields}>()
            for (const {i, save} of events) {
              if (!save) {
                const session = (await load(store, sid)) as unknown as Fields
                loaded.set(i, {session, base: fieldsOf(session)})
                continue
              }
              const {session, base} = loaded.get(i) as {session: Fields; base: Fields}
              for (const [field, change] of requests[i]?.changes ?? []) {
                if (change === undefined) delete session[field]
                else session[field] = change
              }
              await store.set(sid, session as never)
              // This request's own changes, against what it loaded, applied to the model.
              const mine = fieldsOf(session)
              for (const field of FIELDS) {
                if (JSON.stringify(mine[field]) === JSON.stringify(base[field])) continue
                if (field in mine) model[field] = mine[field]
                else delete model[field]
              }
              model = fieldsOf(model)
              expect(fieldsOf(await store.get(sid))).toEqual(model)
            }
          },
        ),
        {numRuns: 40},
      )
    })

    /** `count` requests load one session, each add a field of its own, and all save at once. */
    async function savedAtOnce(count: number, settings: RedisStoreSettings = {}) {
      const store = new RedisStore(connection.client, {prefix: uniquePrefix("many"), ...settings})
      await store.set("u", makeSession())
      const requests = await Promise.all(Array.from({length: count}, () => load(store, "u")))
      await Promise.all(
        requests.map((mine, i) => {
          mine[`field${i}`] = i
          return store.set("u", mine)
        }),
      )
      return Object.keys((await store.get("u")) ?? {}).filter((f) => f.startsWith("field"))
    }

    it("100 saves at once of one session, each adding its field: all 100 stay, none fails", async () => {
      // More savers than attempts: without spreading the retries out, the unluckiest
      // save would lose every time and fail with ConcurrentWriteError.
      expect(await savedAtOnce(100)).toHaveLength(100)
    })

    it("20 saves at once of one session, each adding its field: all 20 stay", async () => {
      expect(await savedAtOnce(20)).toHaveLength(20)
      expect((await savedAtOnce(20, {concurrentWrites: "overwrite"})).length).toBeLessThan(20)
    })
  },
)

describe("with the sessions' serializers and options", () => {
  let connection: TestClient
  beforeAll(async () => {
    connection = await connectClient(kind("node-redis 6 client"), {standalone: server})
  })
  afterAll(async () => connection?.close())

  const newStore = (settings: RedisStoreSettings = {}) =>
    new RedisStore(connection.client, {prefix: uniquePrefix("opt"), ...settings})

  async function overlapping(store: RedisStore) {
    await store.set("u", makeSession())
    const [a, b] = [await load(store, "u"), await load(store, "u")]
    a.flash = "a"
    await store.set("u", a)
    b.line = "b"
    await store.set("u", b)
    return (await store.get("u")) as unknown as Fields
  }

  it("an encrypted value: merged, and still encrypted at rest", async () => {
    const secret = "a secret of at least thirty-two characters"
    const store = newStore({serializer: encryptedSerializer({secrets: [secret]})})
    expect(await overlapping(store)).toMatchObject({flash: "a", line: "b"})
  })

  it("an async serializer: merged", async () => {
    const store = newStore({
      serializer: {
        parse: async (text) => JSON.parse(text),
        stringify: async (value) => JSON.stringify(value),
      },
    })
    expect(await overlapping(store)).toMatchObject({flash: "a", line: "b"})
  })

  it("touchAfter (the value read with its expiry): merged", async () => {
    expect(await overlapping(newStore({touchAfter: 60}))).toMatchObject({flash: "a", line: "b"})
  })

  it("a new session whose first save failed (not written): the next save writes it whole", async () => {
    const store = newStore()
    const fresh = makeSession(60_000, {user: "ada"} as Fields) as unknown as Fields
    // Redis refuses every write (OOM) for the first save.
    await server.command("CONFIG", "SET", "maxmemory", "1")
    try {
      const error = await store.set("n", fresh as never).catch((e: unknown) => e)
      expect(String(error)).toMatch(/OOM/)
    } finally {
      await server.command("CONFIG", "SET", "maxmemory", "0")
    }
    expect(await store.get("n")).toBeNull()
    fresh.views = 1
    await store.set("n", fresh as never)
    expect(await store.get("n")).toMatchObject({user: "ada", views: 1})
  })

  it("maxBytes applies to the merged session: refused whole, nothing lost", async () => {
    const store = newStore({maxBytes: 400})
    await store.set("u", makeSession())
    const [a, b] = [await load(store, "u"), await load(store, "u")]
    a.flash = "x".repeat(150)
    await store.set("u", a)
    b.line = "y".repeat(150)
    const error = await store.set("u", b).catch((e: unknown) => e)
    expect(isRedisSessionStoreError(error) && error.code).toBe("ETOOLARGE")
    expect(await store.get("u")).toMatchObject({flash: a.flash})
  })

  it("another write before every attempt: ConcurrentWriteError after 50, theirs kept", async () => {
    const raw = new RawRedis([server])
    const prefix = uniquePrefix("bound")
    let writes = 0
    const store = newStore({
      prefix,
      serializer: {
        parse: JSON.parse,
        // Before each attempt lands, another request writes the session.
        async stringify(value) {
          writes += 1
          const other = {...makeSession(), writer: `other ${writes}`}
          await raw.set(`${prefix}u`, JSON.stringify(other))
          return JSON.stringify(value)
        },
      },
    })
    await raw.set(`${prefix}u`, JSON.stringify(makeSession()))
    const mine = await load(store, "u")
    mine.flash = "mine"
    const error = await store.set("u", mine).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConcurrentWriteError)
    expect(error).toMatchObject({code: "ECONFLICT", attempts: 50})
    expect(await store.get("u")).toMatchObject({writer: `other ${writes}`})
    expect(await store.get("u")).not.toHaveProperty("flash")
  })

  it("what a request loaded is no field: JSON, Object.keys and for...in show only the session", async () => {
    const store = newStore()
    const written = makeSession(60_000, {user: "ada"} as Fields)
    const fields = Object.keys(written).sort()
    await store.set("u", written)
    const data = (await store.get("u")) as unknown as Fields
    const session = await load(store, "u")
    for (const seen of [data, session]) {
      const forIn: string[] = []
      for (const field in seen) if (typeof seen[field] !== "function") forIn.push(field)
      expect(Object.keys(seen).sort()).toEqual(fields)
      expect(forIn.sort()).toEqual(fields)
      expect(Object.keys(JSON.parse(JSON.stringify(seen))).sort()).toEqual(fields)
    }
    session.flash = "hi"
    await store.set("u", session)
    const stored = await new RawRedis([server]).get(`${store.prefix}u`)
    expect(Object.keys(JSON.parse(String(stored))).sort()).toEqual([...fields, "flash"].sort())
  })

  it("a frozen session (no base can be kept on it) is saved whole", async () => {
    const store = newStore()
    const frozen = Object.freeze(makeSession(60_000, {user: "ada"} as Fields))
    await store.set("u", frozen)
    await store.set("u", frozen)
    expect(await store.get("u")).toMatchObject({user: "ada"})
  })

  it("examples/resolve-cart.ts merges a cart line by line", async () => {
    const store = newStore({resolveConflict: resolveCart})
    const cart = [
      {sku: "pen", qty: 1},
      {sku: "ink", qty: 1},
    ]
    await store.set("u", makeSession(60_000, {cart} as Fields))
    const [a, b] = [await load(store, "u"), await load(store, "u")]
    a.cart = [...cart, {sku: "book", qty: 1}]
    await store.set("u", a)
    b.cart = [{sku: "pen", qty: 3}]
    await store.set("u", b)
    const stored = (await store.get("u")) as unknown as Fields
    // a's added book stays; b's new pen quantity and removed ink are b's.
    expect(stored.cart).toEqual([
      {sku: "pen", qty: 3},
      {sku: "book", qty: 1},
    ])
  })

  it("a resolveConflict that throws fails the save, and what is stored stays", async () => {
    const store = newStore({
      resolveConflict: () => {
        throw new Error("cannot decide")
      },
    })
    await store.set("u", makeSession(60_000, {shared: "base"} as Fields))
    const [a, b] = [await load(store, "u"), await load(store, "u")]
    a.shared = "A"
    await store.set("u", a)
    b.shared = "B"
    await expect(store.set("u", b)).rejects.toThrow("cannot decide")
    expect(await store.get("u")).toMatchObject({shared: "A"})
  })

  it("the owner index follows the merged session's owner", async () => {
    const store = newStore({owner: (s) => (s as unknown as Fields).userId as number | undefined})
    await store.set("u", makeSession())
    const [anonymous, login] = [await load(store, "u"), await load(store, "u")]
    login.userId = 5
    await store.set("u", login)
    anonymous.flash = "hello"
    await store.set("u", anonymous)
    const devices = await store.sessionsOf(5)
    expect(devices.map((s) => s.id)).toEqual(["u"])
    expect(devices[0]?.session).toMatchObject({flash: "hello", userId: 5})
  })

  it("bad values of the options are refused; redundant mode does not merge", async () => {
    expect(() => newStore({concurrentWrites: "yes" as never})).toThrow(/"merge" or "overwrite"/)
    expect(() => newStore({resolveConflict: 5 as never})).toThrow(/must be a function/)
    const clients = [{url: server.url}, {url: server.url}]
    expect(() => new RedisStore({clients, concurrentWrites: "merge"})).toThrow(
      /not available with options.clients/,
    )
    const redundant = new RedisStore({clients})
    expect(redundant.concurrentWrites).toBe("overwrite")
    await redundant.close()
    expect(newStore().concurrentWrites).toBe("merge")
  })
})

describe("over HTTP: a slow request holding an old copy while 20 quick ones save", () => {
  let connection: TestClient
  beforeAll(async () => {
    connection = await connectClient(kind("node-redis 6 client"), {standalone: server})
  })
  afterAll(async () => connection?.close())

  function gate() {
    let open: () => void = () => {}
    const opened = new Promise<void>((resolve) => {
      open = resolve
    })
    return {opened, open}
  }

  async function expressApp(store: RedisStore) {
    const [arrived, release] = [gate(), gate()]
    const app = express()
    app.use(session({store, name: "sid", secret: "s", resave: false, saveUninitialized: false}))
    app.post("/login", (req, res) => {
      ;(req.session as unknown as Fields).user = "ada"
      res.json({})
    })
    app.post("/add/:n", (req, res) => {
      ;(req.session as unknown as Fields)[`field${req.params.n}`] = true
      res.json({})
    })
    app.post("/slow", async (req, res) => {
      arrived.open()
      await release.opened
      ;(req.session as unknown as Fields).slow = true
      res.json({})
    })
    const http = app.listen(0, "127.0.0.1")
    await new Promise((resolve) => http.once("listening", resolve))
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    return {base, arrived, release, close: () => new Promise((r) => http.close(r))}
  }

  for (const concurrentWrites of ["merge", "overwrite"] as const) {
    it(`express-session, ${concurrentWrites}: ${concurrentWrites === "merge" ? "every" : "not every"} change stays`, async () => {
      const store = new RedisStore(connection.client, {
        prefix: uniquePrefix("http"),
        concurrentWrites,
      })
      const app = await expressApp(store)
      try {
        const browser = new Browser(app.base)
        await browser.request("POST", "/login")
        const slow = browser.request("POST", "/slow")
        await app.arrived.opened
        await Promise.all(Array.from({length: 20}, (_, n) => browser.request("POST", `/add/${n}`)))
        app.release.open()
        expect((await slow).status).toBe(200)
        const stored = (await store.get(browser.sid)) as unknown as Fields
        const fields = Object.keys(stored).filter((f) => f.startsWith("field"))
        if (concurrentWrites === "merge") {
          expect(fields).toHaveLength(20)
          expect(stored).toMatchObject({user: "ada", slow: true})
        } else {
          expect(fields.length).toBeLessThan(20)
        }
      } finally {
        await app.close()
      }
    })
  }

  it("@fastify/session (documented limit): the base is not known, so a save overwrites", async () => {
    const store = new RedisStore(connection.client, {prefix: uniquePrefix("fastify")})
    const [arrived, release] = [gate(), gate()]
    const {app, base} = await startFastifyApp(store, (fastify) =>
      fastify.post("/slow", async (request) => {
        arrived.open()
        await release.opened
        ;(request.session as unknown as Fields).slow = true
        return {}
      }),
    )
    try {
      const browser = new Browser(base, "fastify")
      await browser.request("POST", "/login")
      const slow = browser.request("POST", "/slow")
      await arrived.opened
      expect((await browser.request("POST", "/count")).body.views).toBe(1)
      release.open()
      expect((await slow).status).toBe(200)
      // The slow request's save is its whole copy: the quick request's count is gone.
      expect(await store.get(browser.sid)).toMatchObject({slow: true})
      expect((await store.get(browser.sid))?.views).toBeUndefined()
    } finally {
      await app.close()
    }
  })
})
