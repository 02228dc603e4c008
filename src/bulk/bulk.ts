// The store's bulk work (length, ids, entries, all, clear): every key under the prefix walked
// in batches of at most `scanCount`, so it never floods Redis or the heap, whatever the number
// of sessions. RedisStore's bulk methods are thin wrappers over this.

import type {SessionData} from "express-session"
import type {ScanBatch, SessionClient} from "../redis/index.js"
import type {SessionCodec, Unreadable} from "../store/codec.js"
import {eachBatch, keyBatches} from "./batches.js"
import {DistinctCounter} from "./distinct-counter.js"

/** Told how many sessions a bulk method has done so far, after each batch. */
export type Progress = (done: number) => void

export interface BulkDeps {
  redis: SessionClient
  prefix: string
  scanCount: number
  codec: SessionCodec
}

export class BulkSessions {
  readonly #deps: BulkDeps

  constructor(deps: BulkDeps) {
    this.#deps = deps
  }

  /** How many sessions there are (tombstones not counted), without holding their keys. */
  async length(progress?: Progress): Promise<number> {
    const counter = new DistinctCounter()
    for await (const {keys} of this.#keyBatches()) {
      for (const key of keys) counter.add(key)
      progress?.(counter.size)
    }
    return counter.size
  }

  async ids(): Promise<string[]> {
    const ids = new Set<string>()
    for await (const {keys} of this.#keyBatches()) {
      for (const key of keys) ids.add(this.#sidOf(key))
    }
    return [...ids]
  }

  async *entries(): AsyncGenerator<[string, SessionData]> {
    const seen = new DistinctCounter()
    for await (const {keys, source} of this.#keyBatches()) {
      yield* await this.read(
        keys.filter((key) => seen.add(key)),
        source,
      )
    }
  }

  async all(): Promise<(SessionData & {id: string})[]> {
    const seen = new Set<string>()
    const sessions: (SessionData & {id: string})[] = []
    await this.#eachBatch(async (batch, source) => {
      const keys = batch.filter((key) => !seen.has(key) && seen.add(key))
      for (const [id, session] of await this.read(keys, source)) {
        sessions.push(Object.assign(session, {id}))
      }
    })
    return sessions
  }

  /** Ends every session, batch by batch, each as `destroy` does. */
  async clear(progress?: Progress): Promise<void> {
    let done = 0
    await this.#eachBatch(async (keys, source) => {
      await this.end(keys, source)
      done += keys.length
      progress?.(done)
    })
  }

  /**
   * The readable sessions among `keys`, as `[id, session]`: one MGET per slot, or on a Redis 7
   * cluster one script on the master `source` names.
   */
  async read(keys: string[], source: unknown): Promise<[string, SessionData][]> {
    if (keys.length === 0) return []
    const values = await this.#deps.redis.readMany(keys, source)
    const read = await Promise.all(
      keys.map((key, i) => {
        const raw = values[i]
        // null: the key expired, was deleted or became a tombstone since SCAN.
        return raw == null ? null : this.#deps.codec.read(raw, this.#sidOf(key))
      }),
    )
    return keys.flatMap((key, i): [string, SessionData][] => {
      const session = read[i]
      return session ? [[this.#sidOf(key), session]] : []
    })
  }

  /**
   * What each of `keys` holds, in order: a session, UNREADABLE (a value that cannot be read
   * as one), or null (nothing: no key, or a tombstone). For the owner index, which may drop
   * an entry only when its session is known to be gone.
   */
  async readEach(keys: string[]): Promise<(SessionData | Unreadable | null)[]> {
    if (keys.length === 0) return []
    const values = await this.#deps.redis.readMany(keys)
    return Promise.all(
      keys.map((key, i) => {
        const raw = values[i]
        return raw == null ? null : this.#deps.codec.readOrUnreadable(raw, this.#sidOf(key))
      }),
    )
  }

  /**
   * Ends the sessions at `keys` (any slots) as `destroy` does: one command per slot, or on a
   * Redis 7 cluster one script on the master `source` names.
   */
  end(keys: string[], source: unknown): Promise<unknown> {
    return this.#deps.redis.endMany(keys, source)
  }

  /** Runs `handle` on each batch of our keys, a few at once while the walk goes on. */
  #eachBatch(handle: (keys: string[], source: unknown) => Promise<void>): Promise<void> {
    return eachBatch(this.#keyBatches(), handle)
  }

  #keyBatches(): AsyncGenerator<ScanBatch> {
    return keyBatches(this.#deps.redis, this.#deps.prefix, this.#deps.scanCount)
  }

  #sidOf(key: string): string {
    return key.slice(this.#deps.prefix.length)
  }
}
