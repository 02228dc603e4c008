// Encryption at rest (encryptedSerializer), maxBytes, and an async serializer, on a real
// Redis through node-redis 6 (the codec is the same for every client).

import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {
  type CorruptSessionError,
  encryptedSerializer,
  RedisStore,
  SessionTooLargeError,
} from "../src/index.js"
import {CLIENT_KINDS, connectClient, type TestClient} from "./support/clients.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {asStored, makeSession, uniquePrefix} from "./support/sessions.js"

const OLD_SECRET = "an old secret of at least thirty-two characters"
const NEW_SECRET = "a new secret, also thirty-two characters or more"

describe("encryption at rest, maxBytes, async serializers", () => {
  let server: RedisServer
  let connection: TestClient
  beforeAll(async () => {
    server = await startRedisServer()
    const kind = CLIENT_KINDS.find((candidate) => candidate.name === "node-redis 6 client")
    if (!kind) throw new Error("no node-redis 6 kind")
    connection = await connectClient(kind, {standalone: server})
  })
  afterAll(async () => {
    await connection?.close()
    await server?.stop()
  })

  function storeWith(
    settings: ConstructorParameters<typeof RedisStore>[1],
    prefix = uniquePrefix("adm"),
  ) {
    const store = new RedisStore(connection.client, {...settings, prefix})
    const corrupt: CorruptSessionError[] = []
    store.on("corrupt", (error: CorruptSessionError) => corrupt.push(error))
    return {store, prefix, corrupt}
  }

  it("stores no plaintext, and reads its own values back", async () => {
    const {store, prefix} = storeWith({serializer: encryptedSerializer({secrets: [NEW_SECRET]})})
    const session = makeSession(60_000, {user: {id: 7, name: "Ada Lovelace"}} as never)
    await store.set("a", session)
    const stored = String(await server.command("GET", `${prefix}a`))
    expect(stored).toMatch(/^rss-aes256gcm:/)
    expect(stored).not.toContain("Ada")
    expect(stored).not.toContain("cookie")
    expect(await store.get("a")).toEqual(asStored(session))
    expect((await store.all()).map((s) => s.id)).toEqual(["a"])
  })

  it("rotates: values written with the old secret are read with [new, old], new ones use the new", async () => {
    const prefix = uniquePrefix("rot")
    const before = storeWith({serializer: encryptedSerializer({secrets: [OLD_SECRET]})}, prefix)
    const session = makeSession()
    await before.store.set("old", session)
    const after = storeWith(
      {serializer: encryptedSerializer({secrets: [NEW_SECRET, OLD_SECRET]})},
      prefix,
    )
    expect(await after.store.get("old")).toEqual(asStored(session))
    await after.store.set("new", session)
    const newOnly = storeWith({serializer: encryptedSerializer({secrets: [NEW_SECRET]})}, prefix)
    expect(await newOnly.store.get("new")).toEqual(asStored(session))
    expect(await newOnly.store.get("old")).toBeNull()
    expect(newOnly.corrupt).toHaveLength(1)
  })

  it("a tampered, foreign or plain value is no session (and a corrupt event), never data", async () => {
    const {store, prefix, corrupt} = storeWith({
      serializer: encryptedSerializer({secrets: [NEW_SECRET]}),
    })
    await store.set("a", makeSession())
    const stored = String(await server.command("GET", `${prefix}a`))
    const body = Buffer.from(stored.slice("rss-aes256gcm:".length), "base64")
    body[body.length - 1] = (body.at(-1) ?? 0) ^ 1
    await server.command("SET", `${prefix}tampered`, `rss-aes256gcm:${body.toString("base64")}`)
    await server.command("SET", `${prefix}plain`, JSON.stringify(makeSession()))
    await server.command("SET", `${prefix}short`, "rss-aes256gcm:AAAA")
    for (const sid of ["tampered", "plain", "short"]) expect(await store.get(sid)).toBeNull()
    expect(corrupt.map((error) => error.sid)).toEqual(["tampered", "plain", "short"])
    expect((await store.all()).map((s) => s.id)).toEqual(["a"])
  })

  it("rejects weak or missing secrets without showing them", () => {
    expect(() => encryptedSerializer({secrets: []})).toThrow(/non-empty array/)
    expect(() => encryptedSerializer({secrets: ["short-secret"]})).toThrow(
      /secrets\[0\] must be a string of at least 32 characters$/,
    )
    expect(() => (encryptedSerializer as (options?: unknown) => unknown)()).toThrow(
      /needs secrets: a non-empty array/,
    )
    expect(() => encryptedSerializer({secrets: [undefined, "x".repeat(32)]})).toThrow(
      /secrets\[0\], the secret that encrypts, is undefined \(is its environment variable set\?\)/,
    )
  })

  it("skips an old secret that is not set (its variable empty), as docs/encryption.md uses it", async () => {
    const current = "the current secret, thirty-two chars"
    const writer = encryptedSerializer({secrets: [current, undefined]})
    const reader = encryptedSerializer({secrets: [current, process.env.RSS_TEST_UNSET_OLD_KEY]})
    const text = await writer.stringify(makeSession(60_000, {views: 3} as never))
    expect((await reader.parse(text)) as unknown).toMatchObject({views: 3})
  })

  it("maxBytes: a larger session is refused with a clear error, and what was stored stays", async () => {
    const {store, prefix} = storeWith({maxBytes: 1000})
    const small = makeSession(60_000, {views: 1})
    await store.set("a", small)
    const large = makeSession(60_000, {views: 2, blob: "é".repeat(600)} as never)
    const refused = await store.set("a", large).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(SessionTooLargeError)
    expect((refused as SessionTooLargeError).bytes).toBeGreaterThan(1000)
    expect((refused as Error).message).toMatch(/over maxBytes \(1000\); it was not written/)
    expect(await store.get("a")).toEqual(asStored(small))
    expect(String(await server.command("GET", `${prefix}a`))).toContain('"views":1')
    expect(() => new RedisStore(connection.client, {maxBytes: 0})).toThrow(
      /options\.maxBytes must be a positive integer/,
    )
  })

  it("an async stringify is awaited; its failure is a clear error", async () => {
    const asyncJson = {
      stringify: async (session: object) => JSON.stringify(session),
      parse: (text: string) => JSON.parse(text),
    }
    const {store} = storeWith({serializer: asyncJson})
    const session = makeSession()
    await store.set("a", session)
    expect(await store.get("a")).toEqual(asStored(session))
    const failing = storeWith({
      serializer: {stringify: async () => Promise.reject(new Error("no")), parse: JSON.parse},
    })
    await expect(failing.store.set("a", session)).rejects.toThrow(
      /The session cannot be serialized: no/,
    )
  })
})
