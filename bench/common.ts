// What every section of the benchmark shares: the run's settings, names, helpers.

import {execFileSync} from "node:child_process"
import os from "node:os"
import type {SessionData} from "express-session"
import {Redis} from "ioredis"
import * as redis6 from "redis"

export const QUICK = process.argv.includes("--quick")
// --only=ops,bulk,cluster,e2e,overhead,redis,outage,redundant,admin,contention runs some sections (for working on one; never for RESULTS.md).
export const ONLY = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",")
export const runs = (section: string) => ONLY === undefined || ONLY.includes(section)
export const COMMAND = QUICK ? "npm run bench -- --quick" : "npm run bench"
export const CONFIG = QUICK
  ? {
      rounds: 2,
      ops: 2_000,
      bulkSessions: 5_000,
      bulkRounds: 1,
      clusterRounds: 1,
      e2eSeconds: 1,
      e2eRounds: 1,
    }
  : {
      rounds: 60,
      ops: 2_000,
      bulkSessions: 100_000,
      bulkRounds: 3,
      clusterRounds: 2,
      e2eSeconds: 2,
      e2eRounds: 9,
    }
// BENCH_SESSIONS=n changes how many sessions the bulk sections work on.
if (process.env.BENCH_SESSIONS) CONFIG.bulkSessions = Number(process.env.BENCH_SESSIONS)
export const CONCURRENCY = 64
export const SESSION_POOL = 1_000
export const MiB = 1024 * 1024

export const OURS = "redis-session-store"
/** The same store with tombstones off: what logout-is-final costs on set/touch/destroy. */
export const OURS_NO_TOMBSTONES = "redis-session-store, tombstoneSeconds: 0"
export const CONNECT_REDIS = "connect-redis 10"
export const CONNECT_REDIS_11 = "connect-redis 11"
export const RAW = "raw node-redis"
/** The same code as RAW, on a connection of its own: shows what "no difference" measures as. */
export const CONTROL = "raw node-redis, again (control)"

/** The same store over an ioredis 6 client, against the same commands sent by raw ioredis. */
export const OURS_IOREDIS = "redis-session-store on ioredis"
export const RAW_IOREDIS = "raw ioredis"

export type Client6 = Awaited<ReturnType<typeof connect6>>

/**
 * Pins a process to one core (Linux `taskset`), when there are at least two. The load
 * generator (this process) runs on core 0, what it measures (redis-server, the probe, the
 * HTTP apps) on core 1: without this, the two fight for the same cores and the same code
 * measures anywhere from 0.6 to 1.3 times itself from one round to the next.
 */
export function pinTo(pid: number | undefined, core: number): boolean {
  if (pid === undefined || os.cpus().length < 2 || os.platform() !== "linux") return false
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], {stdio: "ignore"})
    return true
  } catch {
    return false
  }
}

/** A session as apps keep them: a cookie with expires, a user object, a small array. */
export function realisticSession(): SessionData {
  const maxAge = 86_400_000
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: new Date(Date.now() + maxAge),
      httpOnly: true,
      path: "/",
      secure: false,
      sameSite: "lax",
    },
    user: {id: 42, name: "Ada Lovelace", email: "ada@example.com", roles: ["admin", "editor"]},
    cart: [
      {sku: "A-100", quantity: 2},
      {sku: "B-220", quantity: 1},
    ],
    csrfSecret: "b1f0c2a9e8d74e6f9a3c5b7d2e4f6a8c",
  } as unknown as SessionData
}

/** Rotates the order each round: A B C, then B C A, then C A B. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

export function log(message: string) {
  process.stderr.write(`${message}\n`)
}

export async function connect6(url: string) {
  const client = redis6.createClient({url})
  client.on("error", (error) => log(`client error: ${error.message}`))
  await client.connect()
  return client
}

export async function connectIoredis(url: string): Promise<Redis> {
  const client = new Redis(url, {lazyConnect: true})
  client.on("error", (error) => log(`ioredis error: ${error.message}`))
  await client.connect()
  return client
}

/** Writes `count` sessions under `prefix`, many commands in flight at once (not timed). */
export async function seed(
  client: {set(key: string, value: string, options: {EX: number}): Promise<unknown>},
  prefix: string,
  count: number,
) {
  const value = JSON.stringify(realisticSession())
  for (let start = 0; start < count; start += 5_000) {
    const end = Math.min(count, start + 5_000)
    const writes: Promise<unknown>[] = []
    for (let i = start; i < end; i++) writes.push(client.set(`${prefix}${i}`, value, {EX: 86_400}))
    await Promise.all(writes)
  }
}

// ---------------------------------------------------------------------------------------------

export interface Target {
  text: string
  met: boolean
  value: string
}

export function target(text: string, met: boolean, value: string): Target {
  return {text, met, value}
}
