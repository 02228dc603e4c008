// What an app would write by hand on ioredis, for the ioredis columns: the same commands the
// store sends, with JSON and the TTL arithmetic, and nothing else.

import type {SessionData} from "express-session"
import type {Redis} from "ioredis"
import {prefixPattern} from "../src/store/keys.js"

const ttlOf = (session: SessionData) =>
  Math.ceil((new Date(session.cookie.expires ?? 0).getTime() - Date.now()) / 1000)

/** get / set / touch / destroy as plain GET, SET EX, EXPIRE and DEL. */
export function rawIoredisOperations(client: Redis, prefix: string) {
  return {
    get: async (sid: string) => {
      const value = await client.get(prefix + sid)
      return value === null ? null : JSON.parse(value)
    },
    set: (sid: string, session: SessionData) =>
      client.set(prefix + sid, JSON.stringify(session), "EX", ttlOf(session)),
    touch: (sid: string, session: SessionData) => client.expire(prefix + sid, ttlOf(session)),
    destroy: (sid: string) => client.del(prefix + sid),
  }
}

/** length / ids / all / clear as a SCAN walk with MGET or UNLINK per batch of `count`. */
export function rawIoredisBulk(client: Redis, prefix: string, count = 100) {
  async function* batches(): AsyncGenerator<string[]> {
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(
        cursor,
        "MATCH",
        prefixPattern(prefix),
        "COUNT",
        count,
        "TYPE",
        "string",
      )
      cursor = next
      if (keys.length > 0) yield keys
    } while (cursor !== "0")
  }
  return {
    async length() {
      let total = 0
      for await (const keys of batches()) total += keys.length
      return total
    },
    async ids() {
      const ids: string[] = []
      for await (const keys of batches()) for (const key of keys) ids.push(key.slice(prefix.length))
      return ids
    },
    async all() {
      const sessions: unknown[] = []
      for await (const keys of batches()) {
        const values = await client.mget(...keys)
        values.forEach((value, i) => {
          if (value !== null)
            sessions.push({...JSON.parse(value), id: keys[i]?.slice(prefix.length)})
        })
      }
      return sessions
    },
    async clear() {
      for await (const keys of batches()) await client.unlink(...keys)
    },
  }
}
