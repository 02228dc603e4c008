// Redundant mode (`clients: [...]`): the same sessions on several independent Redis servers,
// so that losing one loses no session. It is one more SessionClient, made of one per
// server: the store above it does not know.
//
// - Every write goes to every server that is up, at once, and succeeds when one succeeds;
//   other servers' failures are reported ("serverError"), never hidden.
// - Values carry a write stamp (`rss1|<stamp>|<value>`; microseconds of the writer's clock).
//   A read asks every server that is up and takes the newest value; a tombstone on any
//   server wins over every value (a session id is never reused, so nothing may follow a
//   logout). A server found empty or stale is repaired in the background, and a value
//   found where another server holds a tombstone is replaced by a tombstone.
// - A server that is down (its own probe says so) is skipped at once; a slow one is waited
//   for at most the time bound. Each server's health is reported ("serverDown",
//   "serverUp", naming the server, never its password).

import type {OperationTrace} from "../diagnostics/trace.js"
import {Availability} from "./availability.js"
import type {Gate} from "./gate.js"
import {
  type ReadFinish,
  type ScanBatch,
  type SessionClient,
  TOMBSTONED,
  type Tombstoned,
} from "./index.js"
import type {LuaScript} from "./scripts.js"

/** One server of a redundant store: its client, and how events name it. */
export interface RedundantServer {
  readonly name: string
  readonly redis: SessionClient
  /** The gate of this server's commands: shut while it is down, so they fail at once. */
  readonly gate: Gate
}

export type ServerEvent = "serverDown" | "serverUp" | "serverError"

/** What a server event carries: the server's name, and why. */
export interface ServerReport {
  server: string
  reason?: unknown
}

const STAMP_PREFIX = "rss1|"

/** A stored value and its write stamp (0 for a value written without one). */
export function readStamped(stored: string): {stamp: number; value: string} {
  if (!stored.startsWith(STAMP_PREFIX)) return {stamp: 0, value: stored}
  const end = stored.indexOf("|", STAMP_PREFIX.length)
  const stamp = Number(stored.slice(STAMP_PREFIX.length, end))
  if (end < 0 || !Number.isSafeInteger(stamp)) return {stamp: 0, value: stored}
  return {stamp, value: stored.slice(end + 1)}
}

export class RedundantClient implements SessionClient {
  readonly #servers: readonly RedundantServer[]
  readonly #health: Availability[]
  readonly #up: boolean[]
  readonly #report: (event: ServerEvent, report: ServerReport) => void
  /** Who watches the whole (the store's probe): told when any server's health changes. */
  readonly #watchers = new Set<() => void>()
  #lastStamp = 0

  constructor(
    servers: readonly RedundantServer[],
    options: {
      retryMs: number
      firstConnectionMs: number
      report: (event: ServerEvent, report: ServerReport) => void
    },
  ) {
    this.#servers = servers
    this.#report = options.report
    this.#up = servers.map(() => true)
    this.#health = servers.map(
      (server, i) =>
        new Availability(
          server.redis,
          (event, reason) => {
            this.#up[i] = event === "connect"
            for (const watcher of this.#watchers) watcher()
            this.#report(event === "connect" ? "serverUp" : "serverDown", {
              server: server.name,
              reason,
            })
          },
          options.retryMs,
          options.firstConnectionMs,
          server.gate,
        ),
    )
  }

  /** Each server's own failures: its probe decides whether it is down. */
  serverFailed(index: number, error: unknown): void {
    this.#health[index]?.commandFailed(error)
  }

  stop(): void {
    for (const health of this.#health) health.stop()
  }

  /** The servers to use now: those up, or every one when none is (its errors then say why). */
  #live(): number[] {
    const up = this.#servers.flatMap((_, i) => (this.#up[i] ? [i] : []))
    return up.length > 0 ? up : this.#servers.map((_, i) => i)
  }

  #stamp(): number {
    this.#lastStamp = Math.max(Date.now() * 1000, this.#lastStamp + 1)
    return this.#lastStamp
  }

  /**
   * Runs `command` on every live server at once. Resolves with the first answer (TOMBSTONED
   * where a tombstone refused it); rejects when all fail.
   */
  #write<T>(
    command: (redis: SessionClient, index: number) => Promise<T>,
    trace?: OperationTrace,
  ): Promise<T> {
    const live = this.#live()
    return new Promise<T>((resolve, reject) => {
      let pending = live.length
      let settled = false
      const errors: unknown[] = []
      for (const i of live) {
        command(this.#redisOf(i), i).then(
          (value) => {
            pending--
            if (!settled) {
              settled = true
              resolve(value)
            }
          },
          (error: unknown) => {
            pending--
            errors.push(error)
            this.#reportError(i, error, trace)
            if (pending === 0 && !settled) {
              settled = true
              reject(errors[0])
            }
          },
        )
      }
    })
  }

  /**
   * Like #write, but waits for every live server before it answers: for destroy and the
   * bulk writes, whose script may be re-sent after a NOSCRIPT and would otherwise still be
   * on its way to a server when the caller reads it again.
   */
  async #writeEverywhere<T>(
    command: (redis: SessionClient, index: number) => Promise<T>,
    trace?: OperationTrace,
  ): Promise<T> {
    const live = this.#live()
    const outcomes = await Promise.allSettled(live.map((i) => command(this.#redisOf(i), i)))
    const errors: unknown[] = []
    outcomes.forEach((outcome, j) => {
      if (outcome.status === "fulfilled") return
      errors.push(outcome.reason)
      this.#reportError(live[j] as number, outcome.reason, trace)
    })
    const done = outcomes.find((outcome) => outcome.status === "fulfilled")
    if (done !== undefined) return (done as PromiseFulfilledResult<T>).value
    throw errors[0]
  }

  #reportError(index: number, reason: unknown, trace?: OperationTrace): void {
    const {name} = this.#server(index)
    trace?.serverFailed(name)
    this.#report("serverError", {server: name, reason})
  }

  #server(index: number): RedundantServer {
    const server = this.#servers[index]
    if (server === undefined) throw new RangeError(`No server ${index}`)
    return server
  }

  #redisOf(index: number): SessionClient {
    return this.#server(index).redis
  }

  write(key: string, value: string, ttlMs: number | undefined, trace?: OperationTrace) {
    const stamped = `${STAMP_PREFIX}${this.#stamp()}|${value}`
    return this.#write((redis) => redis.write(key, stamped, ttlMs, trace), trace)
  }

  retime(key: string, ttlMs: number, trace?: OperationTrace) {
    return this.#write((redis) => redis.retime(key, ttlMs, trace), trace)
  }

  end(key: string, trace?: OperationTrace) {
    return this.#writeEverywhere((redis) => redis.end(key), trace)
  }

  endMany(keys: readonly string[], source?: unknown): Promise<unknown> {
    return this.#writeEverywhere((redis, i) => redis.endMany(keys, sourceOn(source, i)))
  }

  runScript(script: LuaScript, keys: readonly string[], args: readonly string[]) {
    return this.#writeEverywhere((redis) => redis.runScript(script, keys, args))
  }

  /** Only the servers' own repairs run this; a store never asks a redundant set for it. */
  repair(): Promise<void> {
    return Promise.reject(new TypeError("repair runs on one server, not on a redundant set"))
  }

  readWithLife(): Promise<never> {
    return Promise.reject(new TypeError("touchAfter is not available with clients: [...]"))
  }

  read<R>(key: string, finish: ReadFinish<R>, trace?: OperationTrace): Promise<Awaited<R>> {
    return this.#read(key, trace).then((reply) => finish(reply, key)) as Promise<Awaited<R>>
  }

  /** The newest value among the servers that answered; a tombstone anywhere wins. */
  async #read(key: string, trace?: OperationTrace): Promise<string | null | Tombstoned> {
    const live = this.#live()
    const answers = await Promise.allSettled(live.map((i) => this.#redisOf(i).read(key, asIs)))
    if (answers.some(isTombstone)) {
      const holders = live.filter((_, j) => {
        const answer = answers[j]
        return answer?.status === "fulfilled" && answer.value !== TOMBSTONED
      })
      if (holders.length > 0) this.#repairTombstone(key, holders)
      return TOMBSTONED
    }
    let newest: {stamp: number; stored: string; index: number} | undefined
    const failures: unknown[] = []
    answers.forEach((answer, j) => {
      if (answer.status === "rejected") {
        failures.push(answer.reason)
        this.#reportError(live[j] as number, answer.reason, trace)
        return
      }
      const stored = answer.value
      if (stored === null || stored === TOMBSTONED) return
      const {stamp} = readStamped(stored)
      if (newest === undefined || stamp > newest.stamp) {
        newest = {stamp, stored, index: live[j] as number}
      }
    })
    if (failures.length === answers.length) throw failures[0]
    if (newest === undefined) return null
    const best = newest
    const stale = live.filter((_, j) => {
      const answer = answers[j]
      if (answer?.status !== "fulfilled" || answer.value === TOMBSTONED) return false
      return answer.value === null || readStamped(answer.value).stamp < best.stamp
    })
    if (stale.length > 0) this.#repairValue(key, best.index, stale)
    return readStamped(best.stored).value
  }

  /** Values for `keys`, newest across servers; a key tombstoned anywhere reads as null. */
  async readMany(keys: readonly string[], source?: unknown): Promise<(string | null)[]> {
    const live = this.#live()
    const replies = await Promise.allSettled(
      live.map((i) => this.#redisOf(i).readMany(keys, sourceOn(source, i))),
    )
    const answered = replies.flatMap((reply, j) => {
      if (reply.status === "fulfilled") return [{index: live[j] as number, values: reply.value}]
      this.#reportError(live[j] as number, reply.reason)
      return []
    })
    if (answered.length === 0) throw (replies[0] as PromiseRejectedResult).reason
    return Promise.all(
      keys.map(async (key, k) => {
        let newest: {stamp: number; value: string} | undefined
        const missing: number[] = []
        for (const {index, values} of answered) {
          const stored = values[k]
          if (stored === null || stored === undefined) {
            missing.push(index)
            continue
          }
          const read = readStamped(stored)
          if (newest === undefined || read.stamp > newest.stamp) newest = read
        }
        if (newest === undefined) return null
        // MGET answers nil for a tombstone as for nothing: ask where it was nil (rare).
        if (missing.length > 0 && (await this.#tombstonedOn(key, missing))) return null
        return newest.value
      }),
    )
  }

  async #tombstonedOn(key: string, servers: number[]): Promise<boolean> {
    const answers = await Promise.allSettled(servers.map((i) => this.#redisOf(i).read(key, asIs)))
    return answers.some(isTombstone)
  }

  /** Every server that is up, one after the other; the store drops the keys seen twice. */
  async *scan(prefix: string, count: number): AsyncGenerator<ScanBatch> {
    for (const i of this.#live()) {
      for await (const batch of this.#redisOf(i).scan(prefix, count)) {
        yield {keys: batch.keys, source: {server: i, inner: batch.source}}
      }
    }
  }

  /** Up when any server answers. */
  async ping(): Promise<void> {
    await Promise.any(this.#servers.map((server) => server.redis.ping())).catch(
      (error: AggregateError) => {
        throw error.errors[0]
      },
    )
  }

  isReady(): boolean {
    return this.#servers.some((server) => server.redis.isReady())
  }

  /** Closed when every server's client is: one closed among others up is that server down. */
  isClosed(): boolean {
    return this.#servers.every((server) => server.redis.isClosed())
  }

  release(): void {
    for (const server of this.#servers) server.redis.release()
  }

  watch(listener: () => void): () => void {
    this.#watchers.add(listener)
    const undo = this.#servers.map((server) => server.redis.watch(listener))
    return () => {
      this.#watchers.delete(listener)
      for (const stop of undo) stop()
    }
  }

  /** Copies the newest value, with what it has left to live, onto the stale servers. */
  #repairValue(key: string, from: number, to: number[]): void {
    const source = this.#redisOf(from)
    void source
      .readWithLife(key)
      .then(async (found) => {
        if (found === null) return
        await Promise.all(
          to.map((i) =>
            this.#redisOf(i)
              .repair(key, found.value, found.ttlMs)
              .catch((error: unknown) => this.#reportError(i, error)),
          ),
        )
      })
      .catch((error: unknown) => this.#reportError(from, error))
  }

  /** A session destroyed while these servers were away: destroyed there too. */
  #repairTombstone(key: string, on: number[]): void {
    for (const i of on) {
      void this.#redisOf(i)
        .end(key)
        .catch((error: unknown) => this.#reportError(i, error))
    }
  }
}

const asIs = (reply: string | null | Tombstoned) => reply

function isTombstone(answer: PromiseSettledResult<unknown>): boolean {
  return answer.status === "fulfilled" && answer.value === TOMBSTONED
}

/** A SCAN batch's source, for the server it came from (other servers look the keys up). */
function sourceOn(source: unknown, index: number): unknown {
  const from = source as {server?: unknown; inner?: unknown} | undefined
  return from?.server === index ? from.inner : undefined
}
