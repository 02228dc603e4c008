// The store's own cost per call, apart from Redis and the network: our store and the raw
// client's code for the same command, over a stand-in client whose commands resolve at once.
// On a noisy machine this resolves nanoseconds where the wall-clock rounds of section 1
// resolve only a few percent. It is a profile of our code, not a test of Redis behaviour.

import type {SessionData} from "express-session"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import {TOMBSTONE_SESSIONS} from "../src/scripts.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

const stored = JSON.stringify({cookie: {expires: new Date(Date.now() + 86_400_000)}, user: {id: 1}})
const done = Promise.resolve(1)
/** node-redis's shape, answering at once (arguments taken as a client takes them). */
const standIn = {
  get: (_key: string) => Promise.resolve<string | null>(stored),
  set: (_key: string, _value: string, _options?: {EX?: number; GET?: true}) => done,
  expire: (_key: string, _seconds: number) => done,
  getEx: (_key: string, _options: {EX: number}) => done,
  getDel: (_key: string) => done,
  del: (_key: string) => done,
  unlink: (_keys: string[]) => done,
  mGet: (_keys: string[]) => Promise.resolve([]),
  evalSha: (_sha: string, _options: {keys: string[]; arguments: string[]}) => done,
  eval: (_source: string, _options: {keys: string[]; arguments: string[]}) => done,
  scan: () => Promise.resolve({cursor: "0", keys: []}),
  ping: () => Promise.resolve("PONG"),
  isReady: true,
  // node-redis 5/6's way to attach the time bound's abort signal (a proxy, once per slice).
  withCommandOptions: (_options: object): object => Object.create(standIn),
}

/** ioredis's shape, answering at once. */
const ioredisStandIn = {
  status: "ready",
  options: {},
  get: (_key: string) => Promise.resolve<string | null>(stored),
  set: (..._args: (string | number)[]) => done,
  expire: (_key: string, _seconds: number) => done,
  getex: (..._args: (string | number)[]) => done,
  getdel: (_key: string) => done,
  del: (_key: string) => done,
  unlink: (..._keys: string[]) => done,
  mget: (..._keys: string[]) => Promise.resolve([]),
  evalsha: (..._args: (string | number)[]) => done,
  eval: (..._args: (string | number)[]) => done,
  scan: () => Promise.resolve(["0", []]),
  ping: () => Promise.resolve("PONG"),
  scanStream: () => undefined,
}

type Call = (sid: string, session: SessionData) => Promise<unknown>
type Calls = Record<string, Call>

const ttlOf = (s: SessionData) =>
  Math.ceil((new Date(s.cookie.expires ?? 0).getTime() - Date.now()) / 1000)

/** The commands the store sends (tombstones on, the default), written by hand per client. */
const RAW_CODE: Record<string, Calls> = {
  "node-redis": {
    get: async (sid) => {
      const value = await standIn.get(`p:${sid}`)
      return value === null ? null : JSON.parse(value)
    },
    // The same commands the store sends (tombstones on, the default), written by hand.
    set: (sid, s) => standIn.set(`p:${sid}`, JSON.stringify(s), {EX: ttlOf(s), GET: true}),
    touch: (sid, s) => standIn.getEx(`p:${sid}`, {EX: ttlOf(s)}),
    destroy: (sid) =>
      standIn.evalSha(TOMBSTONE_SESSIONS.sha, {
        keys: [`p:${sid}`],
        arguments: ["300", `${Date.now()}`],
      }),
  },
  ioredis: {
    get: async (sid) => {
      const value = await ioredisStandIn.get(`p:${sid}`)
      return value === null ? null : JSON.parse(value)
    },
    set: (sid, s) => ioredisStandIn.set(`p:${sid}`, JSON.stringify(s), "EX", ttlOf(s), "GET"),
    touch: (sid, s) => ioredisStandIn.getex(`p:${sid}`, "EX", ttlOf(s)),
    destroy: (sid) =>
      ioredisStandIn.evalsha(TOMBSTONE_SESSIONS.sha, 1, `p:${sid}`, "300", `${Date.now()}`),
  },
}

const STAND_INS: Record<string, object> = {"node-redis": standIn, ioredis: ioredisStandIn}

export async function measureOverhead(session: SessionData, rounds: number, calls: number) {
  const rows: string[][] = []
  for (const [client, raw] of Object.entries(RAW_CODE)) {
    const standInClient = STAND_INS[client] as RedisClientLike
    rows.push(...(await overheadRows(client, standInClient, raw, session, rounds, calls)))
  }
  return [
    markdownTable(
      ["client", "operation", "ours ns/call", "raw code ns/call", "ours − raw ns/call"],
      rows,
    ),
    "",
    `Median (min–max) over ${rounds} rounds of ${formatNumber(calls)} sequential calls, against a stand-in client (node-redis's shape, then ioredis's) whose commands resolve at once, so what is left is the code on our side: argument checks, TTL, serialization, the promise path. The raw code sends the same commands as the store (SET ... GET for set, GETEX for touch, EVALSHA for destroy, as tombstones are on by default). A real GET/SET/EXPIRE round trip through node-redis costs the client 14–21 µs of CPU (section 1).`,
  ].join("\n")
}

async function overheadRows(
  client: string,
  standInClient: RedisClientLike,
  raw: Calls,
  session: SessionData,
  rounds: number,
  calls: number,
): Promise<string[][]> {
  const store = new RedisStore(standInClient, {prefix: "p:"})
  const ours: Calls = {
    get: (sid) => store.get(sid),
    set: (sid, s) => store.set(sid, s),
    touch: (sid, s) => store.touch(sid, s),
    destroy: (sid) => store.destroy(sid),
  }
  const time = async (call: Call) => {
    const started = performance.now()
    for (let i = 0; i < calls; i++) await call(`s${i & 1023}`, session)
    return ((performance.now() - started) * 1e6) / calls
  }
  const rows: string[][] = []
  for (const op of ["get", "set", "touch", "destroy"]) {
    const oursNs: number[] = []
    const rawNs: number[] = []
    const extra: number[] = []
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first; the difference is taken within the round.
      const first = round % 2 === 0
      const a = await time((first ? ours[op] : raw[op]) as Call)
      const b = await time((first ? raw[op] : ours[op]) as Call)
      const [o, r] = first ? [a, b] : [b, a]
      oursNs.push(o)
      rawNs.push(r)
      extra.push(o - r)
    }
    rows.push([
      client,
      op,
      formatSummary(summarize(oursNs)),
      formatSummary(summarize(rawNs)),
      formatSummary(summarize(extra)),
    ])
  }
  return rows
}
