// The store's own cost per call, apart from Redis and the network: our store, connect-redis 10
// and the raw client's code for the same command, over a stand-in client whose commands
// resolve at once. On a noisy machine this resolves nanoseconds where the wall-clock rounds of
// section 1 resolve only a few percent. It is a profile of our code, not a test of Redis.

import {tracingChannel} from "node:diagnostics_channel"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import type {SessionData} from "express-session"
import type {RedisClientLike, StoreOperationContext} from "../src/index.js"
import {TOMBSTONE_SESSIONS, WRITE_IF_UNCHANGED} from "../src/redis/scripts.js"
import {type Target, target} from "./common.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

const stored = JSON.stringify({cookie: {expires: new Date(Date.now() + 86_400_000)}, user: {id: 1}})
const done = Promise.resolve(1)
/** node-redis's shape, answering at once (arguments taken as a client takes them). */
const standIn = {
  get: (_key: string) => Promise.resolve<string | null>(stored),
  set: (_key: string, _value: string, _options?: object) => done,
  expire: (_key: string, _seconds: number) => done,
  pExpire: (_key: string, _ms: number) => done,
  getEx: (_key: string, _options: object) => done,
  getDel: (_key: string) => done,
  del: (_key: string | string[]) => done,
  unlink: (_keys: string[]) => done,
  mGet: (_keys: string[]) => Promise.resolve([]),
  evalSha: (_sha: string, _options: {keys: string[]; arguments: string[]}) => done,
  eval: (_source: string, _options: {keys: string[]; arguments: string[]}) => done,
  scan: () => Promise.resolve({cursor: "0", keys: []}),
  ping: () => Promise.resolve("PONG"),
  isReady: true,
  // node-redis 5/6's way to attach an abort signal.
  withCommandOptions: (_options: object): object => Object.create(standIn),
}

/** ioredis's shape, answering at once. */
const ioredisStandIn = {
  status: "ready",
  options: {},
  get: (_key: string) => Promise.resolve<string | null>(stored),
  set: (..._args: (string | number)[]) => done,
  expire: (_key: string, _seconds: number) => done,
  pexpire: (_key: string, _ms: number) => done,
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

const msOf = (s: SessionData) => new Date(s.cookie.expires ?? 0).getTime() - Date.now()

/** The commands the store sends (tombstones on, the default), written by hand per client. */
const RAW_CODE: Record<string, Calls> = {
  "node-redis": {
    get: async (sid) => {
      const value = await standIn.get(`p:${sid}`)
      return value === null ? null : JSON.parse(value)
    },
    set: (sid, s) => standIn.set(`p:${sid}`, JSON.stringify(s), {PX: msOf(s), GET: true}),
    touch: (sid, s) => standIn.getEx(`p:${sid}`, {PX: msOf(s)}),
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
    set: (sid, s) => ioredisStandIn.set(`p:${sid}`, JSON.stringify(s), "PX", msOf(s), "GET"),
    touch: (sid, s) => ioredisStandIn.getex(`p:${sid}`, "PX", msOf(s)),
    destroy: (sid) =>
      ioredisStandIn.evalsha(TOMBSTONE_SESSIONS.sha, 1, `p:${sid}`, "300", `${Date.now()}`),
  },
}

/** concurrentWrites "merge", a session the request loaded: the script that writes over it. */
const RAW_SAVE: Record<string, Call> = {
  "node-redis": (sid, s) =>
    standIn.evalSha(WRITE_IF_UNCHANGED.sha, {
      keys: [`p:${sid}`],
      arguments: [stored, JSON.stringify(s), `${msOf(s)}`, "1"],
    }),
  ioredis: (sid, s) =>
    ioredisStandIn.evalsha(
      WRITE_IF_UNCHANGED.sha,
      1,
      `p:${sid}`,
      stored,
      JSON.stringify(s),
      `${msOf(s)}`,
      "1",
    ),
}

const STAND_INS: Record<string, object> = {"node-redis": standIn, ioredis: ioredisStandIn}
const OPERATIONS = ["get", "set", "touch", "destroy"] as const

/** A store's methods as calls, the way express-session makes them (promise path). */
function callsOf(store: {
  get(sid: string): Promise<unknown>
  set(sid: string, s: SessionData): Promise<unknown>
  touch(sid: string, s: SessionData): Promise<unknown>
  destroy(sid: string): Promise<unknown>
}): Calls {
  return {
    get: (sid) => store.get(sid),
    set: (sid, s) => store.set(sid, s),
    touch: (sid, s) => store.touch(sid, s),
    destroy: (sid) => store.destroy(sid),
  }
}

/**
 * The store as users run it: the built package (dist/, which `npm run bench` builds first),
 * like connect-redis's own built code. Run from the sources through tsx, every closure made
 * per call would also pay tsx's name-keeping, which the published code does not.
 */
async function builtStore(): Promise<typeof import("../src/index.js").RedisStore> {
  const built = new URL("../dist/index.js", import.meta.url).href
  try {
    return ((await import(built)) as typeof import("../src/index.js")).RedisStore
  } catch (error) {
    throw new Error(`Section 5 measures the built package: run "npm run build" first (${error})`)
  }
}

export async function measureOverhead(
  session: SessionData,
  rounds: number,
  calls: number,
): Promise<{markdown: string; targets: Target[]}> {
  const RedisStore = await builtStore()
  const rows: string[][] = []
  const targets: Target[] = []
  /** The store's own cost (ns over the raw code) of each set-like row, for the merge target. */
  const growth = new Map<string, number>()
  for (const [client, raw] of Object.entries(RAW_CODE)) {
    const standInClient = STAND_INS[client] as RedisClientLike
    const ours = callsOf(new RedisStore(standInClient, {prefix: "p:"}))
    // connect-redis 10 takes node-redis clients only.
    const theirs =
      client === "node-redis"
        ? callsOf(new ConnectRedisStore({client: standInClient as never, prefix: "p:"}) as never)
        : undefined
    // What concurrentWrites "merge" (the default) adds to `set`, against the same store with
    // "overwrite": a set of a session nobody loaded (a new one), and the save of a session
    // the request loaded (the script; always the same sid, so the base is known each time).
    const overwrite = callsOf(
      new RedisStore(standInClient, {prefix: "p:", concurrentWrites: "overwrite"}),
    )
    const mergeCases = [
      {op: "get", label: "get, overwrite", ours: overwrite, raw},
      {op: "set", label: "set, overwrite", ours: overwrite, raw},
      {
        op: "set",
        label: "save of a loaded session (merge script)",
        ours: {set: (_sid, s) => ours.set?.("loaded", s)} as Calls,
        raw: {set: (_sid, s) => RAW_SAVE[client]?.("loaded", s)} as Calls,
      },
    ] as const
    for (const each of mergeCases) {
      // The merge script's row has no connect-redis counterpart (it sends no script).
      const compared = each.label.endsWith("overwrite") ? theirs : undefined
      const extra = await measureOperation(
        each.op,
        session,
        rounds,
        calls,
        each.raw,
        each.ours,
        compared,
      )
      const theirExtra = extra.theirs && summarize(extra.theirs)
      rows.push([
        client,
        each.label,
        formatSummary(summarize(extra.oursNs)),
        theirExtra ? formatSummary(summarize(extra.theirsNs)) : "—",
        formatSummary(summarize(extra.rawNs)),
        formatSummary(summarize(extra.ours)),
        theirExtra ? formatSummary(theirExtra) : "—",
      ])
      growth.set(`${client}/${each.label}`, summarize(extra.ours).median)
      if (theirExtra) {
        const ourExtra = summarize(extra.ours)
        targets.push(
          target(
            `store's own cost per ${each.label}: no more than connect-redis 10's (over the raw client)`,
            ourExtra.median <= theirExtra.median,
            `+${formatNumber(ourExtra.median)} ns against +${formatNumber(theirExtra.median)} ns`,
          ),
        )
      }
    }
    for (const op of OPERATIONS) {
      const extra = await measureOperation(op, session, rounds, calls, raw, ours, theirs)
      if (op === "set") growth.set(`${client}/set`, summarize(extra.ours).median)
      const ourExtra = summarize(extra.ours)
      const theirExtra = extra.theirs && summarize(extra.theirs)
      rows.push([
        client,
        op,
        formatSummary(summarize(extra.oursNs)),
        theirExtra ? formatSummary(summarize(extra.theirsNs)) : "—",
        formatSummary(summarize(extra.rawNs)),
        formatSummary(ourExtra),
        theirExtra ? formatSummary(theirExtra) : "—",
      ])
      if (theirExtra && op !== "destroy") {
        // destroy differs by design: a tombstone script where connect-redis sends DEL.
        targets.push(
          target(
            `store's own cost per ${op}: no more than connect-redis 10's (over the raw client)`,
            ourExtra.median <= theirExtra.median,
            `+${formatNumber(ourExtra.median)} ns against +${formatNumber(theirExtra.median)} ns`,
          ),
        )
      }
    }
  }
  // The same calls while one subscriber listens to every operation channel, as an APM tool
  // does: it counts outcomes at asyncEnd (node-redis's shape only).
  const nodeRedis = STAND_INS["node-redis"] as RedisClientLike
  const listened = callsOf(new RedisStore(nodeRedis, {prefix: "p:"}))
  const stopListening = countOutcomes()
  try {
    for (const op of ["get", "set", "touch"] as const) {
      const extra = await measureOperation(
        op,
        session,
        rounds,
        calls,
        RAW_CODE["node-redis"] as Calls,
        listened,
        undefined,
      )
      rows.push([
        "node-redis",
        `${op}, one diagnostics subscriber`,
        formatSummary(summarize(extra.oursNs)),
        "—",
        formatSummary(summarize(extra.rawNs)),
        formatSummary(summarize(extra.ours)),
        "—",
      ])
    }
  } finally {
    stopListening()
  }
  for (const client of Object.keys(RAW_CODE)) {
    const base = growth.get(`${client}/set, overwrite`) ?? Number.NaN
    for (const label of ["set", "save of a loaded session (merge script)"]) {
      const extra = (growth.get(`${client}/${label}`) ?? Number.NaN) - base
      targets.push(
        target(
          `concurrentWrites "merge", ${client} ${label}: at most 300 ns more of the store's own cost than "overwrite"`,
          extra <= 300,
          `${extra >= 0 ? "+" : ""}${formatNumber(extra)} ns`,
        ),
      )
    }
  }
  const markdown = [
    markdownTable(
      [
        "client",
        "operation",
        "ours ns/call",
        "connect-redis 10 ns/call",
        "raw code ns/call",
        "ours − raw",
        "connect-redis − raw",
      ],
      rows,
    ),
    "",
    `Median (min–max) over ${rounds} rounds of ${formatNumber(calls)} sequential calls of the built package (dist/, as published), against a stand-in client (node-redis's shape, then ioredis's) whose commands resolve at once, so what is left is the code on each side: argument checks, TTL, serialization, the time bound (on, 2000 ms, the default), the promise path. Contenders run back to back in each round, in rotating order; the differences are taken within the round. The raw code sends the same commands as the store (SET ... PX ... GET for set, GETEX PX for touch, EVALSHA for destroy, as tombstones are on by default); connect-redis 10 sends SET EX, EXPIRE and DEL, and takes node-redis only. The rows "one diagnostics subscriber" are the same store while a subscriber that counts outcomes listens to every operation channel (docs/diagnostics.md); every other row runs with no subscriber, which is the store's default path. The "get" and "set" rows are concurrentWrites "merge" (the default; a set of a session no request loaded, as a new one); "get, overwrite" and "set, overwrite" are the same store with concurrentWrites "overwrite", connect-redis's behaviour, which notes nothing on a read and needs no note at a save; "save of a loaded session" is the merge script (EVALSHA, against raw code sending the same script), what a request that loaded its session sends when no other write came in between. A real GET/SET/EXPIRE round trip through node-redis costs the client 14–21 µs of CPU (section 1).`,
  ].join("\n")
  return {markdown, targets}
}

/** A subscriber on every operation's TracingChannel that counts outcomes; returns the undo. */
function countOutcomes(): () => void {
  const counts = new Map<string, number>()
  const handlers = {
    start() {},
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd(context: StoreOperationContext) {
      const key = `${context.operation} ${context.outcome}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    },
  }
  const channels = ["get", "set", "touch", "destroy"].map((operation) =>
    tracingChannel<unknown, StoreOperationContext>(`redis-session-store:${operation}`),
  )
  for (const channel of channels) channel.subscribe(handlers)
  return () => {
    for (const channel of channels) channel.unsubscribe(handlers)
  }
}

async function measureOperation(
  op: (typeof OPERATIONS)[number],
  session: SessionData,
  rounds: number,
  calls: number,
  raw: Calls,
  ours: Calls,
  theirs: Calls | undefined,
) {
  const time = async (call: Call) => {
    const started = performance.now()
    for (let i = 0; i < calls; i++) await call(`s${i & 1023}`, session)
    return ((performance.now() - started) * 1e6) / calls
  }
  const contenders = [ours[op], raw[op], ...(theirs ? [theirs[op]] : [])] as Call[]
  const result = {
    oursNs: [] as number[],
    rawNs: [] as number[],
    theirsNs: [] as number[],
    ours: [] as number[],
    theirs: theirs ? ([] as number[]) : undefined,
  }
  for (let round = 0; round < rounds; round++) {
    const ns = new Array<number>(contenders.length)
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length
      ns[index] = await time(contenders[index] as Call)
    }
    const [o, r, t] = ns as [number, number, number | undefined]
    result.oursNs.push(o)
    result.rawNs.push(r)
    result.ours.push(o - r)
    if (t !== undefined) {
      result.theirsNs.push(t)
      result.theirs?.push(t - r)
    }
  }
  return result
}
