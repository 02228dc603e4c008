import {Redis} from "ioredis"
import {describe, expect, it} from "vitest"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import {
  CLIENT_KINDS,
  closeClient,
  createLazy,
  createUnconnected,
  type Servers,
} from "./support/clients.js"

// Clients are built but never connected: construction must not talk to Redis.
const nowhere = {url: "redis://127.0.0.1:1", host: "127.0.0.1", port: 1}
const servers = {
  standalone: nowhere,
  cluster: {rootNodes: [{url: nowhere.url}]},
  sentinel: {masterName: "mymaster", sentinel: nowhere},
} as unknown as Servers

const [firstKind] = CLIENT_KINDS
if (!firstKind) throw new Error("no client kinds")
const anyClient = () => createUnconnected(firstKind, servers)

describe("new RedisStore", () => {
  it.each(CLIENT_KINDS.map((kind) => [kind.name, kind] as const))(
    "accepts a %s in all three forms",
    async (_, kind) => {
      // A GLIDE client cannot exist unconnected: a lazy one is the closest, never used here.
      const client =
        kind.family === "glide" ? await createLazy(kind, servers) : createUnconnected(kind, servers)
      expect(new RedisStore({client}).client).toBe(client)
      expect(new RedisStore(client).client).toBe(client)
      const store = new RedisStore(client, {ttl: 60, prefix: "p:"})
      expect(store.ttl).toBe(60)
      expect(store.prefix).toBe("p:")
      if (kind.family === "glide") await closeClient(client)
    },
  )

  it("has connect-redis's defaults", () => {
    const store = new RedisStore(anyClient())
    expect(store.prefix).toBe("sess:")
    expect(store.ttl).toBe(86_400)
    expect(store.scanCount).toBe(100)
    expect(store.serializer).toBe(JSON)
    expect(store.disableTTL).toBe(false)
    expect(store.disableTouch).toBe(false)
  })

  it("keeps tombstones five minutes and touchAfter off by default; rounds seconds up", () => {
    const store = new RedisStore(anyClient())
    expect(store.tombstoneSeconds).toBe(300)
    expect(store.touchAfter).toBe(0)
    const tuned = new RedisStore(anyClient(), {tombstoneSeconds: 1.2, touchAfter: 59.5})
    expect(tuned.tombstoneSeconds).toBe(2)
    expect(tuned.touchAfter).toBe(60)
    expect(new RedisStore(anyClient(), {tombstoneSeconds: 0}).tombstoneSeconds).toBe(0)
  })

  it("bounds commands to 2000 ms by default; 0 turns the bound off", () => {
    expect(new RedisStore(anyClient()).timeout).toBe(2000)
    expect(new RedisStore(anyClient(), {timeout: 0}).timeout).toBe(0)
    expect(new RedisStore(anyClient(), {timeout: 250.5}).timeout).toBe(250.5)
  })

  it("keeps an empty prefix when asked for one", () => {
    expect(new RedisStore(anyClient(), {prefix: ""}).prefix).toBe("")
  })

  const accepted =
    /RedisStore needs a node-redis client \(createClient\(\), createCluster\(\) or createSentinel\(\) from redis 4, 5 or 6\), an ioredis\/iovalkey client \(new Redis\(\) or new Cluster\(\)\) or a Valkey GLIDE client \(GlideClient or GlideClusterClient\)/
  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a URL string", "redis://localhost:6379"],
    ["an empty object", {}],
    ["options without a client", {prefix: "x:"}],
    ["options with a non-client", {client: {get() {}, set() {}}}],
    ["a client factory", () => undefined],
  ])("rejects %s with a TypeError that says what is accepted", (_, value) => {
    expect(() => new RedisStore(value as unknown as RedisClientLike)).toThrow(TypeError)
    expect(() => new RedisStore(value as unknown as RedisClientLike)).toThrow(accepted)
  })

  it("rejects an ioredis client whose keyPrefix is not a string (SCAN could not match it)", () => {
    const client = new Redis({lazyConnect: true, keyPrefix: Buffer.from("b:") as never})
    expect(() => new RedisStore(client)).toThrow(
      /The client's keyPrefix must be a string to be used with RedisStore/,
    )
  })

  it("names the commands an ioredis-like client lacks (ioredis 4 has no getdel)", () => {
    const ioredisLike = {status: "ready", get() {}, set() {}, mget() {}, scanStream() {}}
    expect(() => new RedisStore(ioredisLike as unknown as RedisClientLike)).toThrow(
      /this ioredis-like client has no pexpire, getex, getdel, del, unlink, evalsha, eval, scan, ping\)$/,
    )
  })

  it("rejects options given twice", () => {
    const client = anyClient()
    expect(() => new RedisStore({client} as unknown as RedisClientLike, {ttl: 5})).toThrow(
      /either new RedisStore\(\{client/,
    )
  })

  it.each([
    ["prefix", {prefix: 5}, /options.prefix must be a string/],
    ["ttl 0", {ttl: 0}, /options.ttl must be a positive number/],
    ["ttl negative", {ttl: -60}, /options.ttl/],
    ["ttl NaN", {ttl: Number.NaN}, /options.ttl/],
    ["ttl string", {ttl: "1d"}, /options.ttl/],
    ["scanCount 0", {scanCount: 0}, /options.scanCount must be a positive integer/],
    ["scanCount 1.5", {scanCount: 1.5}, /options.scanCount/],
    ["scanCount string", {scanCount: "100"}, /options.scanCount/],
    ["serializer", {serializer: {parse: JSON.parse}}, /options.serializer must have/],
    ["disableTTL", {disableTTL: "yes"}, /options.disableTTL must be a boolean/],
    ["disableTouch", {disableTouch: 1}, /options.disableTouch must be a boolean/],
    ["tombstoneSeconds negative", {tombstoneSeconds: -1}, /options.tombstoneSeconds must be/],
    ["tombstoneSeconds NaN", {tombstoneSeconds: Number.NaN}, /options.tombstoneSeconds/],
    ["tombstoneSeconds Infinity", {tombstoneSeconds: Infinity}, /options.tombstoneSeconds/],
    ["tombstoneSeconds string", {tombstoneSeconds: "300"}, /options.tombstoneSeconds/],
    ["touchAfter negative", {touchAfter: -5}, /options.touchAfter must be a number of seconds/],
    ["touchAfter boolean", {touchAfter: true}, /options.touchAfter/],
    ["timeout negative", {timeout: -1}, /options.timeout must be a number of milliseconds/],
    ["timeout NaN", {timeout: Number.NaN}, /options.timeout/],
    ["timeout Infinity", {timeout: Infinity}, /options.timeout/],
    ["timeout past setTimeout's range", {timeout: 2 ** 31}, /options.timeout/],
    ["timeout string", {timeout: "2s"}, /options.timeout/],
    ["connectionEvents", {connectionEvents: "yes"}, /options.connectionEvents must be a boolean/],
    ["options", "fast", /options must be an object/],
  ])("rejects a bad %s", (_, settings, message) => {
    const client = anyClient()
    expect(() => new RedisStore(client, settings as never)).toThrow(message)
    if (typeof settings === "object") {
      expect(() => new RedisStore({client, ...(settings as object)})).toThrow(message)
    }
  })

  it.each([
    ["prefx", {prefx: "app:"}, /RedisStore: unknown option "prefx"; did you mean "prefix"\?/],
    ["tll", {tll: 60}, /unknown option "tll"; did you mean "ttl"\?/],
    ["disableTouche", {disableTouche: true}, /did you mean "disableTouch"\?/],
    ["scanCont", {scanCont: 10}, /did you mean "scanCount"\?/],
    ["disableTtl", {disableTtl: true}, /did you mean "disableTTL"\?/],
    [
      "an express-session option",
      {resave: false},
      /unknown option "resave"; the options are prefix, ttl/,
    ],
    ["a name set to undefined", {prefx: undefined}, /unknown option "prefx"/],
  ])(
    "refuses a misspelled or unknown option (%s), naming it and what it probably meant",
    (_, settings, message) => {
      const client = anyClient()
      for (const build of [
        () => new RedisStore(client, settings as never),
        () => new RedisStore({client, ...settings} as never),
      ]) {
        expect(build).toThrow(TypeError)
        expect(build).toThrow(message)
      }
    },
  )

  it("takes every option it documents, and names given as symbols are not options", () => {
    const store = new RedisStore({
      client: anyClient(),
      prefix: "p:",
      ttl: 60,
      disableTTL: false,
      disableTouch: false,
      serializer: JSON,
      scanCount: 10,
      tombstoneSeconds: 60,
      touchAfter: 0,
      timeout: 1000,
      connectionEvents: false,
      maxBytes: 1000,
      owner: () => undefined,
      absoluteTimeout: 0,
      maxSessionsPerOwner: 3,
      onTooManySessions: "refuse",
      concurrentWrites: "merge",
      resolveConflict: (_field: string, {mine}: {mine: unknown}) => mine,
      [Symbol("private")]: true,
    } as never)
    expect(store.prefix).toBe("p:")
  })

  it("rejects a client keyPrefix that is not a string", () => {
    const client = anyClient() as unknown as {options?: object}
    const withBufferPrefix = Object.create(client, {_keyPrefix: {value: Buffer.from("x:")}})
    expect(() => new RedisStore(withBufferPrefix)).toThrow(/keyPrefix must be a string/)
  })

  it("is an express-session Store and an EventEmitter", async () => {
    const {Store} = await import("express-session")
    const store = new RedisStore(anyClient())
    expect(store).toBeInstanceOf(Store)
    expect(typeof store.on).toBe("function")
    expect(typeof store.regenerate).toBe("function")
  })

  it("reports a callback that is not a function instead of ignoring it", async () => {
    const store = new RedisStore(anyClient())
    await expect(store.get("a", "cb" as never)).rejects.toThrow(/callback must be a function/)
  })
})

describe("callbacks", () => {
  // Every public method but entries() (an async iterator) and createSession (express-session's
  // synchronous hook, which the store overrides to carry what a request loaded) takes a
  // trailing callback. A method added without an entry here fails the test, so it cannot be
  // forgotten.
  const ARGUMENTS: Record<string, unknown[]> = {
    get: ["a"],
    set: ["a", {cookie: {originalMaxAge: null}}],
    touch: ["a", {cookie: {originalMaxAge: null}}],
    destroy: ["a"],
    clear: [],
    length: [],
    ids: [],
    all: [],
    sessionsOf: [7],
    revokeOwner: [7],
    close: [],
  }
  const methods = Object.getOwnPropertyNames(RedisStore.prototype).filter(
    (name) => !["constructor", "entries", "createSession"].includes(name),
  )

  it("knows every public method", () => {
    expect(methods.sort()).toEqual(Object.keys(ARGUMENTS).sort())
  })

  it.each(methods)("%s(..., callback) calls the callback (here with the error)", async (name) => {
    // A client never connected: every command fails at the bound, so each callback hears it.
    const store = new RedisStore(anyClient(), {timeout: 50, owner: () => undefined})
    store.on("disconnect", () => {})
    const method = (store as unknown as Record<string, (...args: unknown[]) => unknown>)[name]
    const heard = await new Promise<{error: unknown}>((resolve) => {
      method?.call(store, ...(ARGUMENTS[name] ?? []), (error: unknown) => resolve({error}))
    })
    if (name === "close") expect(heard.error).toBeNull()
    else expect(heard.error).toBeInstanceOf(Error)
  })
})
