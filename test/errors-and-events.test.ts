import {createClient} from "redis"
import {describe, expect, expectTypeOf, it} from "vitest"
import {outcomeOfError} from "../src/diagnostics/trace.js"
import {
  ConcurrentWriteError,
  CorruptSessionError,
  isRedisSessionStoreError,
  isRedisUnavailableError,
  RedisSessionStoreError,
  RedisStore,
  RedisUnavailableError,
  type ServerReport,
  SessionTooLargeError,
  TooManySessionsError,
} from "../src/index.js"

describe("errors", () => {
  const made = [
    new RedisUnavailableError("ETIMEDOUT", "slow"),
    new CorruptSessionError("sid-1", "bad JSON"),
    new SessionTooLargeError(2000, 1000),
  ]

  it("share one base class, each with its own name and code", () => {
    expect(made.map((error) => [error.name, error.code])).toEqual([
      ["RedisUnavailableError", "ETIMEDOUT"],
      ["CorruptSessionError", "ECORRUPT"],
      ["SessionTooLargeError", "ETOOLARGE"],
    ])
    for (const error of made) {
      expect(error).toBeInstanceOf(RedisSessionStoreError)
      expect(error).toBeInstanceOf(Error)
      expect(isRedisSessionStoreError(error)).toBe(true)
    }
  })

  it("are told apart by the guards, which an imitation does not fool", () => {
    expect(made.map(isRedisUnavailableError)).toEqual([true, false, false])
    const imitation = Object.assign(new Error("x"), {name: "RedisUnavailableError"})
    expect(isRedisSessionStoreError(imitation)).toBe(false)
    expect(isRedisUnavailableError(imitation)).toBe(false)
    expect(isRedisSessionStoreError("RedisUnavailableError")).toBe(false)
    expect(isRedisSessionStoreError(null)).toBe(false)
  })

  it("keep a corrupt value's sid out of the message and of enumeration", () => {
    const error = new CorruptSessionError("secret-sid", "bad JSON")
    expect(error.sid).toBe("secret-sid")
    expect(error.message).not.toContain("secret-sid")
    expect(Object.keys(error)).not.toContain("sid")
  })
})

describe("events", () => {
  // The listeners' types are checked by the type check (npm run typecheck covers the tests).
  it("reach typed listeners, and the app's own events stay possible", async () => {
    const store = new RedisStore(createClient(), {connectionEvents: false})
    const heard: unknown[] = []
    store.on("disconnect", (reason) => {
      expectTypeOf(reason).toBeUnknown()
      heard.push(reason)
    })
    store.on("corrupt", (error) => {
      expectTypeOf(error).toEqualTypeOf<CorruptSessionError>()
      heard.push(error.sid)
    })
    store.once("serverDown", (report) => {
      expectTypeOf(report).toEqualTypeOf<ServerReport>()
      heard.push(report.server)
    })
    store.on("my-event", (...args) => {
      expectTypeOf(args).toEqualTypeOf<unknown[]>()
      heard.push(args)
    })
    // @ts-expect-error: a corrupt value is reported with a CorruptSessionError, not a string
    store.on("corrupt", (error: string) => error)
    store.off("corrupt", () => {})
    store.emit("disconnect", "gone")
    store.emit("corrupt", new CorruptSessionError("sid-2", "bad"))
    store.emit("serverDown", {server: "a:1"})
    store.emit("serverDown", {server: "b:1"})
    store.emit("my-event", 1, 2)
    expect(heard).toEqual(["gone", "sid-2", "a:1", [1, 2]])
    await store.close()
  })
})

describe("the outcome a rejected call publishes (diagnostics)", () => {
  it("names each error of the store, a bad argument, and anything else", () => {
    const errors = [
      new RedisUnavailableError("ETIMEDOUT", "slow"),
      new RedisUnavailableError("ENOTCONN", "closed"),
      new SessionTooLargeError(2000, 1000),
      new ConcurrentWriteError(50),
      new TooManySessionsError(2),
      new TypeError("bad sid"),
      new RangeError("bad number"),
      new Error("OOM command not allowed"),
      "not even an Error",
    ]
    expect(errors.map(outcomeOfError)).toEqual([
      "timed-out",
      "unavailable",
      "too-large",
      "conflict",
      "refused",
      "invalid",
      "invalid",
      "failed",
      "failed",
    ])
  })
})
