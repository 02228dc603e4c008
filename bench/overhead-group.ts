// Section 5, one group of rows in a process of its own: one store configuration on one
// client shape, against the raw client's code and connect-redis 10, as an app runs one
// store. Measured in one process, a configuration measured later paid for code that an
// earlier one had left polymorphic (about +80 ns per get), which no app pays.
//
//   node --import tsx bench/overhead-group.ts <group> <rounds> <calls>
// prints one line of JSON: the group's rows (see OverheadRow).

import {tracingChannel} from "node:diagnostics_channel"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import session, {type SessionData} from "express-session"
import type {StoreOperationContext} from "../src/index.js"
import {RETIME_SESSION, TOMBSTONE_SESSIONS, WRITE_IF_UNCHANGED} from "../src/redis/scripts.js"
import {realisticSession} from "./common.js"
import {type Summary, summarize} from "./stats.js"

export const GROUPS = [
  "node-redis merge",
  "node-redis overwrite",
  "ioredis merge",
  "ioredis overwrite",
  "node-redis merge, one diagnostics subscriber",
  "node-redis merge, timeout 0",
] as const
export type Group = (typeof GROUPS)[number]

export interface OverheadRow {
  client: string
  label: string
  oursNs: Summary
  rawNs: Summary
  theirsNs?: Summary
  /** ours − raw, taken within each round. */
  ours: Summary
  /** connect-redis − raw, taken within each round. */
  theirs?: Summary
}

const stored = JSON.stringify({cookie: {expires: new Date(Date.now() + 86_400_000)}, user: {id: 1}})
const done = Promise.resolve(1)
/** node-redis's shape, answering at once (arguments taken as a client takes them). */
const standIn = {
  get: (_key: string) => Promise.resolve<string | null>(stored),
  set: (_key: string, _value: string, _options?: object) => done,
  expire: (_key: string, _seconds: number) => done,
  pExpire: (_key: string, _ms: number) => done,
  // GETEX answers as GET does: the store's get is a GETEX once it has seen a touch or save.
  getEx: (_key: string, _options: object) => Promise.resolve<string | null>(stored),
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
  getex: (..._args: (string | number)[]) => Promise.resolve<string | null>(stored),
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
type Calls = Partial<Record<string, Call>>
type Callback = (error: unknown, value?: unknown) => void

const msOf = (s: SessionData) => new Date(s.cookie.expires ?? 0).getTime() - Date.now()

/** The commands the store sends (tombstones on, the default), written by hand per client. */
const RAW_CODE: Record<string, Calls> = {
  "node-redis": {
    get: async (sid) => {
      const value = await standIn.getEx(`p:${sid}`, {PX: 86_400_000})
      return value === null ? null : JSON.parse(value)
    },
    set: (sid, s) => standIn.set(`p:${sid}`, JSON.stringify(s), {PX: msOf(s), GET: true}),
    // A touch the read did not cover (these sessions carry no read's note): the re-time script.
    touch: (sid, s) =>
      standIn.evalSha(RETIME_SESSION.sha, {keys: [`p:${sid}`], arguments: [`${msOf(s)}`]}),
    destroy: (sid) =>
      standIn.evalSha(TOMBSTONE_SESSIONS.sha, {
        keys: [`p:${sid}`],
        arguments: ["300", `${Date.now()}`],
      }),
    save: (sid, s) =>
      standIn.evalSha(WRITE_IF_UNCHANGED.sha, {
        keys: [`p:${sid}`],
        arguments: [stored, JSON.stringify(s), `${msOf(s)}`, "1"],
      }),
  },
  ioredis: {
    get: async (sid) => {
      const value = await ioredisStandIn.getex(`p:${sid}`, "PX", 86_400_000)
      return value === null ? null : JSON.parse(value)
    },
    set: (sid, s) => ioredisStandIn.set(`p:${sid}`, JSON.stringify(s), "PX", msOf(s), "GET"),
    touch: (sid, s) => ioredisStandIn.evalsha(RETIME_SESSION.sha, 1, `p:${sid}`, `${msOf(s)}`),
    destroy: (sid) =>
      ioredisStandIn.evalsha(TOMBSTONE_SESSIONS.sha, 1, `p:${sid}`, "300", `${Date.now()}`),
    save: (sid, s) =>
      ioredisStandIn.evalsha(
        WRITE_IF_UNCHANGED.sha,
        1,
        `p:${sid}`,
        stored,
        JSON.stringify(s),
        `${msOf(s)}`,
        "1",
      ),
  },
}

interface StoreLike {
  get(sid: string, callback?: Callback): Promise<unknown>
  set(sid: string, s: SessionData, callback?: Callback): Promise<unknown>
  touch(sid: string, s: SessionData, callback?: Callback): Promise<unknown>
  destroy(sid: string): Promise<unknown>
  createSession(req: object, data: SessionData): unknown
}

/** A store's methods as calls on the promise path (a script's, or an app's own). */
function promiseCalls(store: StoreLike): Calls {
  return {
    get: (sid) => store.get(sid),
    set: (sid, s) => store.set(sid, s),
    touch: (sid, s) => store.touch(sid, s),
    destroy: (sid) => store.destroy(sid),
    // concurrentWrites "merge": a session the request loaded (always the same sid, so its
    // base is known each time): the script that writes over it.
    save: (_sid, s) => store.set("loaded", s),
  }
}

/**
 * The calls as express-session makes them: with a callback, and a found session built into
 * the request's Session by the store's `createSession` in that callback.
 */
function callbackCalls(store: StoreLike): Calls {
  return {
    get: (sid) =>
      new Promise((resolve) => {
        store.get(sid, (error, data) => {
          if (data) store.createSession({sessionID: sid, sessionStore: store}, data as SessionData)
          resolve(error ?? data)
        })
      }),
    set: (sid, s) => new Promise((resolve) => store.set(sid, s, resolve)),
    touch: (sid, s) => new Promise((resolve) => store.touch(sid, s, resolve)),
  }
}

/** The raw code's commands, called as express-session would call a store made of them. */
function rawCallbackCalls(raw: Calls): Calls {
  // express-session's own Store builds the Session of what the raw code read.
  const base = new session.MemoryStore() as unknown as StoreLike
  const call = (op: string, sid: string, s: SessionData) => (raw[op] as Call)(sid, s)
  return {
    get: (sid, s) =>
      new Promise((resolve) => {
        call("get", sid, s).then((data) => {
          if (data) base.createSession({sessionID: sid, sessionStore: base}, data as SessionData)
          resolve(data)
        }, resolve)
      }),
    set: (sid, s) =>
      new Promise((resolve) => call("set", sid, s).then(() => resolve(null), resolve)),
    touch: (sid, s) =>
      new Promise((resolve) => call("touch", sid, s).then(() => resolve(null), resolve)),
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

/** What one group measures: [row label, operation, ours, raw, connect-redis]. */
type Plan = [string, string, Calls, Calls, Calls | undefined][]

async function plan(group: Group): Promise<{client: string; rows: Plan}> {
  const RedisStore = await builtStore()
  const client = group.startsWith("ioredis") ? "ioredis" : "node-redis"
  const raw = RAW_CODE[client] as Calls
  const standInClient = client === "ioredis" ? ioredisStandIn : standIn
  const merge = !group.includes("overwrite")
  // timeout 0: the same store without the time bound, to show what the bound costs per call.
  const unbounded = group.endsWith("timeout 0")
  const store = new RedisStore(standInClient as never, {
    prefix: "p:",
    concurrentWrites: merge ? "merge" : "overwrite",
    ...(unbounded ? {timeout: 0} : {}),
  }) as unknown as StoreLike
  const ours = promiseCalls(store)
  // connect-redis 10 takes node-redis clients only.
  const cr =
    client === "node-redis"
      ? (new ConnectRedisStore({client: standIn as never, prefix: "p:"}) as unknown as StoreLike)
      : undefined
  const theirs = cr && promiseCalls(cr)
  const suffix = unbounded ? ", timeout 0" : merge ? "" : ", overwrite"
  if (group.endsWith("subscriber")) {
    return {
      client,
      rows: ["get", "set", "touch"].map((op) => [
        `${op}, one diagnostics subscriber`,
        op,
        ours,
        raw,
        undefined,
      ]),
    }
  }
  const rows: Plan = []
  const full = merge && !unbounded
  for (const op of full
    ? ["get", "set", "touch", "destroy"]
    : merge
      ? ["get", "set", "touch"]
      : ["get", "set"]) {
    rows.push([`${op}${suffix}`, op, ours, raw, theirs])
  }
  if (full) rows.push(["save of a loaded session (merge script)", "save", ours, raw, undefined])
  if (cr !== undefined) {
    const [oursCb, rawCb, theirsCb] = [
      callbackCalls(store),
      rawCallbackCalls(raw),
      callbackCalls(cr),
    ]
    for (const op of merge ? ["get", "set", "touch"] : ["get", "set"]) {
      const label = op === "get" ? "get + createSession" : op
      rows.push([`${label}${suffix}, callback`, op, oursCb, rawCb, theirsCb])
    }
  }
  return {client, rows}
}

/** A subscriber on every operation's TracingChannel that counts outcomes, as an APM does. */
function countOutcomes(): void {
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
  for (const operation of ["get", "set", "touch", "destroy"]) {
    tracingChannel<unknown, StoreOperationContext>(`redis-session-store:${operation}`).subscribe(
      handlers,
    )
  }
}

async function measureRow(
  s: SessionData,
  rounds: number,
  calls: number,
  contenders: [Call, Call, Call | undefined],
) {
  const time = async (call: Call) => {
    const started = performance.now()
    for (let i = 0; i < calls; i++) await call(`s${i & 1023}`, s)
    return ((performance.now() - started) * 1e6) / calls
  }
  const present = contenders.filter((c): c is Call => c !== undefined)
  const ns = contenders.map(() => [] as number[])
  for (let round = 0; round < rounds; round++) {
    // Back to back in rotating order; the differences are taken within the round.
    for (let k = 0; k < present.length; k++) {
      const index = (k + round) % present.length
      ;(ns[index] as number[]).push(await time(present[index] as Call))
    }
  }
  const [ours, raw, theirs] = ns as [number[], number[], number[]]
  return {
    oursNs: summarize(ours),
    rawNs: summarize(raw),
    ours: summarize(ours.map((o, i) => o - (raw[i] as number))),
    ...(contenders[2] === undefined
      ? {}
      : {
          theirsNs: summarize(theirs),
          theirs: summarize(theirs.map((t, i) => t - (raw[i] as number))),
        }),
  }
}

export async function runGroup(group: Group, rounds: number, calls: number) {
  const {client, rows} = await plan(group)
  if (group.endsWith("subscriber")) countOutcomes()
  const s = realisticSession()
  const measured: OverheadRow[] = []
  // ROWS="get,set" measures only the rows whose label starts so (for a quick look).
  const only = process.env.ROWS?.split(",")
  for (const [label, op, ours, raw, theirs] of rows) {
    if (only && !only.some((start) => label.startsWith(start))) continue
    const contenders = [ours[op], raw[op], theirs?.[op]] as [Call, Call, Call | undefined]
    measured.push({client, label, ...(await measureRow(s, rounds, calls, contenders))})
  }
  return measured
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [group, rounds, calls] = process.argv.slice(2)
  if (!GROUPS.includes(group as Group)) throw new Error(`no group ${group}: ${GROUPS.join(", ")}`)
  const rows = await runGroup(group as Group, Number(rounds), Number(calls))
  process.stdout.write(`${JSON.stringify(rows)}\n`)
}
