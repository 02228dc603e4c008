// Side-by-side benchmark: redis-session-store, connect-redis 10 and the raw node-redis client,
// on servers this script starts itself, measured in interleaved rounds (A B C, B C A, ...)
// so that drift of a noisy machine hits every contender alike.
//
//   npm run bench             full run (a few minutes), writes bench/RESULTS.md
//   npm run bench -- --quick  smoke run (CI): small sizes, prints only, asserts nothing

import {type ChildProcess, execFileSync, fork} from "node:child_process"
import {readFileSync} from "node:fs"
import {writeFile} from "node:fs/promises"
import os from "node:os"
import {monitorEventLoopDelay} from "node:perf_hooks"
import autocannon from "autocannon"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import type {SessionData} from "express-session"
import * as redis6 from "redis"
import * as redis5 from "redis5"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedisServer,
} from "../test/helpers/redis-servers.js"
import {measureOutage} from "./outage.js"
import {measureOverhead} from "./overhead.js"
import {measureRedisCost} from "./redis-cost.js"
import {
  formatNumber,
  formatSummary,
  markdownTable,
  type Summary,
  summarize,
  type ThroughputSample,
  throughput,
} from "./stats.js"

const QUICK = process.argv.includes("--quick")
// --only=ops,bulk,cluster,e2e,overhead,redis,outage runs some sections (for working on one; never for RESULTS.md).
const ONLY = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",")
const runs = (section: string) => ONLY === undefined || ONLY.includes(section)
const COMMAND = QUICK ? "npm run bench -- --quick" : "npm run bench"
const CONFIG = QUICK
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
      e2eRounds: 8,
    }
// BENCH_SESSIONS=n changes how many sessions the bulk sections work on.
if (process.env.BENCH_SESSIONS) CONFIG.bulkSessions = Number(process.env.BENCH_SESSIONS)
const CONCURRENCY = 64
const SESSION_POOL = 1_000
const MiB = 1024 * 1024

const OURS = "redis-session-store"
/** The same store with tombstones off: what logout-is-final costs on set/touch/destroy. */
const OURS_NO_TOMBSTONES = "redis-session-store, tombstoneSeconds: 0"
const CONNECT_REDIS = "connect-redis 10"
const RAW = "raw node-redis"
/** The same code as RAW, on a connection of its own: shows what "no difference" measures as. */
const CONTROL = "raw node-redis, again (control)"

type Client6 = Awaited<ReturnType<typeof connect6>>

interface Contender {
  name: string
  /** Where this contender keeps its keys. */
  prefix: string
  get(sid: string): Promise<unknown>
  set(sid: string, session: SessionData): Promise<unknown>
  touch(sid: string, session: SessionData): Promise<unknown>
  destroy(sid: string): Promise<unknown>
}

interface BulkStore {
  name: string
  length(): Promise<unknown>
  ids(): Promise<unknown>
  all(): Promise<unknown>
  clear(): Promise<unknown>
}

interface BulkSample {
  ms: number
  heapMiB: number
  loopDelayMs: number
  slowestGetMs: number
  /** The longest single command any master ran meanwhile, from its SLOWLOG (µs). */
  longestCommandMicros: number
  error?: string
}

/** Commands shorter than this are not logged: the report says "< 0.2 ms" for them. */
const SLOWLOG_THRESHOLD_MICROS = 200

/** Server-side view of blocking: each master's SLOWLOG keeps every command over 0.2 ms. */
class CommandLog {
  constructor(private readonly masters: readonly RedisServer[]) {}

  async start() {
    await Promise.all(
      this.masters.map(async (master) => {
        await master.command("CONFIG", "SET", "slowlog-log-slower-than", SLOWLOG_THRESHOLD_MICROS)
        await master.command("CONFIG", "SET", "slowlog-max-len", 10_000)
        await master.command("SLOWLOG", "RESET")
      }),
    )
  }

  /** The longest command logged since start(), in µs (0 when none was over the threshold). */
  async longest(): Promise<number> {
    let longest = 0
    for (const master of this.masters) {
      const entries = await master.command("SLOWLOG", "GET", -1)
      for (const entry of Array.isArray(entries) ? entries : []) {
        if (Array.isArray(entry)) longest = Math.max(longest, Number(entry[2]))
      }
    }
    return longest
  }
}

/**
 * Pins a process to one core (Linux `taskset`), when there are at least two. The load
 * generator (this process) runs on core 0, what it measures (redis-server, the probe, the
 * HTTP apps) on core 1: without this, the two fight for the same cores and the same code
 * measures anywhere from 0.6 to 1.3 times itself from one round to the next.
 */
function pinTo(pid: number | undefined, core: number): boolean {
  if (pid === undefined || os.cpus().length < 2 || os.platform() !== "linux") return false
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], {stdio: "ignore"})
    return true
  } catch {
    return false
  }
}

/** A session as apps keep them: a cookie with expires, a user object, a small array. */
function realisticSession(): SessionData {
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
function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

function log(message: string) {
  process.stderr.write(`${message}\n`)
}

async function connect6(url: string) {
  const client = redis6.createClient({url})
  client.on("error", (error) => log(`client error: ${error.message}`))
  await client.connect()
  return client
}

/** Writes `count` sessions under `prefix`, many commands in flight at once (not timed). */
async function seed(
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
// 1. get / set / touch / destroy at 64 concurrent callers

function rawContender(client: Client6, prefix: string, name = RAW): Contender {
  const ttlOf = (session: SessionData) =>
    Math.ceil((new Date(session.cookie.expires ?? 0).getTime() - Date.now()) / 1000)
  return {
    name,
    prefix,
    get: async (sid) => {
      const value = await client.get(prefix + sid)
      return value === null ? null : JSON.parse(value)
    },
    set: (sid, session) => client.set(prefix + sid, JSON.stringify(session), {EX: ttlOf(session)}),
    touch: (sid, session) => client.expire(prefix + sid, ttlOf(session)),
    destroy: (sid) => client.del(prefix + sid),
  }
}

function storeContender(
  name: string,
  store: Pick<Contender, "get" | "set" | "touch" | "destroy" | "prefix">,
): Contender {
  return {
    name,
    prefix: store.prefix,
    get: (sid) => store.get(sid),
    set: (sid, session) => store.set(sid, session),
    touch: (sid, session) => store.touch(sid, session),
    destroy: (sid) => store.destroy(sid),
  }
}

type Op = "get" | "set" | "touch" | "destroy"
const OPS: Op[] = ["set", "get", "touch", "destroy"]

async function perOperation(server: RedisServer) {
  log("1. per-operation throughput")
  // Every contender has a connection of its own, all to the same server.
  const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => connect6(server.url)))
  const [ourClient, theirClient, rawClient, controlClient, seedClient, offClient] = clients as [
    Client6,
    Client6,
    Client6,
    Client6,
    Client6,
    Client6,
  ]
  const contenders: Contender[] = [
    storeContender(OURS, new RedisStore({client: ourClient, prefix: "op:ours:"})),
    storeContender(
      OURS_NO_TOMBSTONES,
      new RedisStore({client: offClient, prefix: "op:off:", tombstoneSeconds: 0}),
    ),
    storeContender(
      CONNECT_REDIS,
      new ConnectRedisStore({client: theirClient, prefix: "op:connect-redis:"}),
    ),
    rawContender(rawClient, "op:raw:"),
    rawContender(controlClient, "op:control:", CONTROL),
  ]
  const session = realisticSession()
  const results = new Map<string, ThroughputSample[]>()
  const record = (op: Op, name: string, sample: ThroughputSample) => {
    const key = `${op}/${name}`
    results.set(key, [...(results.get(key) ?? []), sample])
  }

  const runOp = async (op: Op, contender: Contender) => {
    if (op === "destroy") await seed(seedClient, `${contender.prefix}d`, CONFIG.ops)
    const sid = (i: number) => (op === "destroy" ? `d${i}` : `s${i % SESSION_POOL}`)
    return throughput(CONFIG.ops, CONCURRENCY, (i) =>
      op === "get"
        ? contender.get(sid(i))
        : op === "destroy"
          ? contender.destroy(sid(i))
          : contender[op](sid(i), session),
    )
  }

  // Warm-up rounds, not recorded: JIT, connections, key pools.
  for (let round = 0; round < 3; round++) {
    for (const op of OPS) for (const contender of contenders) await runOp(op, contender)
  }
  for (let round = 0; round < CONFIG.rounds; round++) {
    for (const op of OPS) {
      for (const contender of rotated(contenders, round)) {
        record(op, contender.name, await runOp(op, contender))
      }
    }
    if ((round + 1) % 25 === 0 || round + 1 === CONFIG.rounds) {
      log(`   round ${round + 1}/${CONFIG.rounds}`)
    }
  }
  await Promise.all(clients.map((client) => client.close()))

  const samples = (op: Op, name: string) => results.get(`${op}/${name}`) ?? []
  const summary = (op: Op, name: string, pick: (sample: ThroughputSample) => number) =>
    summarize(samples(op, name).map(pick))
  // Ratios are taken within each round, where the contenders ran back to back, then
  // summarized: this cancels the drift of a shared machine better than a ratio of medians.
  // Both read "ours relative to theirs, higher is better".
  const wallRatio = (op: Op, other: string, subject = OURS): Summary => {
    const theirs = samples(op, other)
    return summarize(
      samples(op, subject).map(
        (s, round) => s.opsPerSecond / (theirs[round]?.opsPerSecond ?? Number.NaN),
      ),
    )
  }
  const cpuRatio = (op: Op, other: string, subject = OURS): Summary => {
    const theirs = samples(op, other)
    return summarize(
      samples(op, subject).map(
        (s, round) => (theirs[round]?.cpuMicrosPerOp ?? Number.NaN) / s.cpuMicrosPerOp,
      ),
    )
  }
  const names = [OURS, OURS_NO_TOMBSTONES, CONNECT_REDIS, RAW]
  const wallTable = markdownTable(
    [
      "operation",
      ...names.map((name) => `${name} ops/s`),
      "ours / raw",
      "ours / connect-redis",
      "ours / tombstones off",
      "control / raw",
    ],
    OPS.map((op) => [
      op,
      ...names.map((name) => formatSummary(summary(op, name, (s) => s.opsPerSecond))),
      formatSummary(wallRatio(op, RAW), 3),
      formatSummary(wallRatio(op, CONNECT_REDIS), 3),
      formatSummary(wallRatio(op, OURS_NO_TOMBSTONES), 3),
      formatSummary(wallRatio(op, RAW, CONTROL), 3),
    ]),
  )
  const cpuTable = markdownTable(
    [
      "operation",
      ...names.map((name) => `${name} CPU µs/op`),
      "raw / ours",
      "connect-redis / ours",
      "raw / control",
    ],
    OPS.map((op) => [
      op,
      ...names.map((name) =>
        formatSummary(
          summary(op, name, (s) => s.cpuMicrosPerOp),
          2,
        ),
      ),
      formatSummary(cpuRatio(op, RAW), 3),
      formatSummary(cpuRatio(op, CONNECT_REDIS), 3),
      formatSummary(cpuRatio(op, RAW, CONTROL), 3),
    ]),
  )
  const targets = (["get", "set", "touch"] as Op[]).flatMap((op) => [
    target(
      `${op}: at least 0.97 of the raw client`,
      wallRatio(op, RAW).median >= 0.97,
      `${formatNumber(wallRatio(op, RAW).median, 3)} (control: ${formatNumber(wallRatio(op, RAW, CONTROL).median, 3)}; CPU ${formatNumber(cpuRatio(op, RAW).median, 3)})`,
    ),
    target(
      `${op}: at least connect-redis`,
      wallRatio(op, CONNECT_REDIS).median >= 1,
      `${formatNumber(wallRatio(op, CONNECT_REDIS).median, 3)} (CPU ${formatNumber(cpuRatio(op, CONNECT_REDIS).median, 3)})`,
    ),
  ])
  return {
    markdown: [
      `Median (min–max) over ${CONFIG.rounds} interleaved rounds of ${formatNumber(CONFIG.ops)} calls each, ${CONCURRENCY} callers at once. The raw client does the same commands with JSON.stringify/parse and the same TTL arithmetic. Ratios are taken per round (contenders back to back), then median (min–max); all read "ours relative to theirs, higher is better".`,
      "",
      "Wall-clock throughput:",
      "",
      wallTable,
      "",
      'CPU time of the benchmark process per call (the client side, where the three differ: the Redis commands are the same). On this machine class its swings are as wide as those of wall-clock time (the virtual machine\'s stalls are billed as CPU time), so the targets are judged on the wall-clock ratio, and the control column (identical code against itself) shows how far apart "no difference" lands:',
      "",
      cpuTable,
    ].join("\n"),
    targets,
  }
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Bulk work on many sessions

class Probe {
  private constructor(private readonly child: ChildProcess) {}

  static async start(masterUrls: string[]): Promise<Probe> {
    const child = fork(new URL("./probe.ts", import.meta.url), masterUrls, {
      execArgv: ["--import", "tsx"],
    })
    if (!process.argv.includes("--no-pin")) pinTo(child.pid, 1)
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve())
      child.once("exit", (code) => reject(new Error(`probe exited with ${code}`)))
    })
    return new Probe(child)
  }

  begin() {
    this.child.send("start")
  }

  end(): Promise<number> {
    return new Promise((resolve) => {
      this.child.once("message", (message: {slowest: number}) => resolve(message.slowest))
      this.child.send("stop")
    })
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once("exit", resolve))
    this.child.send("exit")
    await exited
  }
}

async function measureBulk(
  probe: Probe,
  commands: CommandLog,
  run: () => Promise<unknown>,
): Promise<BulkSample> {
  await commands.start()
  const loop = monitorEventLoopDelay({resolution: 1})
  loop.enable()
  probe.begin()
  const started = performance.now()
  let error: string | undefined
  try {
    await run()
  } catch (thrown) {
    error = thrown instanceof Error ? thrown.message : String(thrown)
  }
  const ms = performance.now() - started
  const slowestGetMs = await probe.end()
  loop.disable()
  return {
    ms,
    heapMiB: Number.NaN,
    loopDelayMs: loop.max / 1e6,
    slowestGetMs,
    longestCommandMicros: await commands.longest(),
    ...(error === undefined ? {} : {error}),
  }
}

/**
 * Peak live heap of an operation, in an untimed run of its own: a full GC every 50 ms (more
 * often makes a 100 MB heap GC-bound), and the heap measured right after each, and once more
 * at the end with the result still referenced. A plain peak of heapUsed would mostly
 * count young garbage (SCAN replies already dropped) that V8 had not yet collected.
 */
async function measureLiveHeap(run: () => Promise<unknown>): Promise<number> {
  const gc = (globalThis as {gc?: () => void}).gc
  if (!gc) return Number.NaN
  const liveHeap = () => {
    gc()
    return process.memoryUsage().heapUsed
  }
  // Some of what the previous step (reseeding 100,000 keys) left is only released a moment
  // later: let it go before taking the baseline.
  liveHeap()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const before = liveHeap()
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, liveHeap())
  }, 50)
  // Held in an object so the result stays referenced until dropped on purpose below.
  const held: {result?: unknown} = {}
  try {
    held.result = await run()
    peak = Math.max(peak, liveHeap()) // with the result still referenced: what it holds counts
  } catch {
    // Failures are reported by the timed run.
  } finally {
    clearInterval(sampler)
  }
  held.result = undefined
  // The baseline is the lower of before and after (result dropped), so memory released
  // during the run cannot hide what the run itself held.
  const after = liveHeap()
  return (peak - Math.min(before, after)) / MiB
}

/** The probe's slowest GET while nothing runs: what this machine does on its own. */
async function idleBaseline(probe: Probe, ms: number): Promise<number> {
  probe.begin()
  await new Promise((resolve) => setTimeout(resolve, ms))
  return probe.end()
}

type BulkOp = "length" | "ids" | "all" | "clear"
const BULK_OPS: BulkOp[] = ["length", "ids", "all", "clear"]

async function bulk(
  title: string,
  stores: BulkStore[],
  probe: Probe,
  masters: readonly RedisServer[],
  reseed: () => Promise<void>,
  rounds: number,
) {
  log(title)
  const commands = new CommandLog(masters)
  const samples = new Map<string, BulkSample[]>()
  const record = (op: BulkOp, name: string, sample: BulkSample) => {
    const key = `${op}/${name}`
    samples.set(key, [...(samples.get(key) ?? []), sample])
  }
  const liveHeap = new Map<string, number>()
  const idle: number[] = []
  for (let round = 0; round < rounds; round++) {
    await reseed()
    idle.push(await idleBaseline(probe, 500))
    for (const op of ["length", "ids", "all"] as BulkOp[]) {
      for (const store of rotated(stores, round)) {
        record(op, store.name, await measureBulk(probe, commands, () => store[op]()))
      }
    }
    for (const store of rotated(stores, round)) {
      await reseed()
      record("clear", store.name, await measureBulk(probe, commands, () => store.clear()))
    }
    log(`   round ${round + 1}/${rounds}`)
  }
  log("   live heap")
  for (const store of stores) {
    await reseed()
    for (const op of ["length", "ids", "all"] as BulkOp[]) {
      liveHeap.set(`${op}/${store.name}`, await measureLiveHeap(() => store[op]()))
    }
    liveHeap.set(`clear/${store.name}`, await measureLiveHeap(() => store.clear()))
  }
  for (const [key, list] of samples) {
    const heap = liveHeap.get(key) ?? Number.NaN
    for (const sample of list) sample.heapMiB = heap
  }
  samples.set(
    "idle/(nothing running)",
    idle.map((slowestGetMs) => ({
      ms: Number.NaN,
      heapMiB: Number.NaN,
      loopDelayMs: Number.NaN,
      slowestGetMs,
      longestCommandMicros: Number.NaN,
    })),
  )
  return samples
}

function longestCommand(samples: readonly BulkSample[]): string {
  const worst = Math.max(...samples.map((sample) => sample.longestCommandMicros))
  return worst < SLOWLOG_THRESHOLD_MICROS ? "< 0.2" : formatNumber(worst / 1000, 1)
}

function bulkTable(samples: Map<string, BulkSample[]>, names: string[]): string {
  const idle = summarize((samples.get("idle/(nothing running)") ?? []).map((s) => s.slowestGetMs))
  const rows: string[][] = [["(idle)", "nothing running", "", formatSummary(idle, 1), "", "", ""]]
  for (const op of BULK_OPS) {
    for (const name of names) {
      const list = samples.get(`${op}/${name}`) ?? []
      const failed = list.find((sample) => sample.error !== undefined)
      if (failed) {
        rows.push([op, name, `fails: ${failed.error?.slice(0, 80)}`, "", "", "", ""])
        continue
      }
      const stat = (pick: (sample: BulkSample) => number, digits: number) =>
        formatSummary(summarize(list.map(pick)), digits)
      rows.push([
        op,
        name,
        stat((s) => s.ms, 0),
        stat((s) => s.slowestGetMs, 1),
        longestCommand(list),
        formatNumber(list[0]?.heapMiB ?? Number.NaN, 1),
        stat((s) => s.loopDelayMs, 1),
      ])
    }
  }
  return markdownTable(
    [
      "operation",
      "store",
      "time ms",
      "slowest concurrent GET ms",
      "longest command in Redis ms (worst round)",
      "peak live heap MiB",
      "longest event-loop delay ms",
    ],
    rows,
  )
}

/** Judged on the median round; the worst round and the idle machine's own worst are shown. */
function slowestGetTarget(samples: Map<string, BulkSample[]>, label: string, op: BulkOp): Target {
  const list = samples.get(`${op}/${OURS}`) ?? []
  const ours = summarize(list.map((s) => s.slowestGetMs))
  const idle = summarize((samples.get("idle/(nothing running)") ?? []).map((s) => s.slowestGetMs))
  return target(
    `${label}: slowest concurrent GET under 15 ms`,
    ours.median < 15,
    `${formatNumber(ours.median, 1)} ms (worst round ${formatNumber(ours.max, 1)}; idle machine ${formatNumber(idle.median, 1)}, worst ${formatNumber(idle.max, 1)}; longest command inside Redis ${longestCommand(list)} ms)`,
  )
}

function bulkTargets(samples: Map<string, BulkSample[]>, where: string) {
  const median = (op: BulkOp, name: string, pick: (sample: BulkSample) => number) =>
    summarize((samples.get(`${op}/${name}`) ?? []).map(pick)).median
  const targets = BULK_OPS.map((op) => slowestGetTarget(samples, `${where} ${op}`, op))
  const heap = median("length", OURS, (s) => s.heapMiB)
  targets.push(
    target(`${where} length: heap growth under 5 MiB`, heap < 5, `${formatNumber(heap, 2)} MiB`),
  )
  for (const op of ["all", "clear"] as BulkOp[]) {
    const ratio = median(op, OURS, (s) => s.ms) / median(op, CONNECT_REDIS, (s) => s.ms)
    targets.push(
      target(
        `${where} ${op}: at most 1.2 × connect-redis's time`,
        ratio <= 1.2,
        `${formatNumber(ratio, 2)} ×`,
      ),
    )
  }
  return targets
}

function bulkStores(client: RedisClientLike, prefix: string): BulkStore[] {
  const ours = new RedisStore(client, {prefix})
  const theirs = new ConnectRedisStore({client, prefix})
  const asBulk = (name: string, store: Omit<BulkStore, "name">): BulkStore => ({
    name,
    length: () => store.length(),
    ids: () => store.ids(),
    all: () => store.all(),
    clear: () => store.clear(),
  })
  return [asBulk(OURS, ours), asBulk(CONNECT_REDIS, theirs)]
}

async function bulkStandalone(server: RedisServer) {
  const client = await connect6(server.url)
  const probe = await Probe.start([server.url])
  const prefix = "bulk:"
  const samples = await bulk(
    `2. bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, standalone`,
    bulkStores(client as RedisClientLike, prefix),
    probe,
    [server],
    () => seed(client, prefix, CONFIG.bulkSessions),
    CONFIG.bulkRounds,
  )
  await probe.stop()
  await client.close()
  return {
    markdown: bulkTable(samples, [OURS, CONNECT_REDIS]),
    targets: bulkTargets(samples, "standalone"),
  }
}

async function bulkCluster(cluster: RedisCluster) {
  const probe = await Probe.start(cluster.nodes.map((node) => node.url))
  const sections: string[] = []
  const targets: Target[] = []
  const seeder = redis6.createCluster({rootNodes: cluster.rootNodes})
  await seeder.connect()
  for (const version of [5, 6] as const) {
    const client =
      version === 5
        ? redis5.createCluster({rootNodes: cluster.rootNodes})
        : redis6.createCluster({rootNodes: cluster.rootNodes})
    client.on("error", (error: Error) => log(`cluster error: ${error.message}`))
    await client.connect()
    const prefix = `cbulk${version}:`
    const samples = await bulk(
      `3. bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, 3-master cluster, node-redis ${version}`,
      bulkStores(client as unknown as RedisClientLike, prefix),
      probe,
      cluster.nodes,
      () => seed(seeder, prefix, CONFIG.bulkSessions),
      CONFIG.clusterRounds,
    )
    sections.push(
      `#### node-redis ${version} cluster\n\n${bulkTable(samples, [OURS, CONNECT_REDIS])}`,
    )
    targets.push(
      ...BULK_OPS.map((op) =>
        slowestGetTarget(samples, `cluster (node-redis ${version}) ${op}`, op),
      ),
    )
    // Leave the cluster empty for the next client (cleanup, not measured).
    await new RedisStore(seeder, {prefix}).clear()
    await client.destroy()
  }
  await seeder.destroy()
  await probe.stop()
  return {markdown: sections.join("\n\n"), targets}
}

// ---------------------------------------------------------------------------------------------
// 4. End to end over HTTP

async function startApp(store: string, url: string): Promise<{child: ChildProcess; port: number}> {
  const child = fork(new URL("./app.ts", import.meta.url), [store, url], {
    execArgv: ["--import", "tsx"],
  })
  if (!process.argv.includes("--no-pin")) pinTo(child.pid, 1)
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message: {port: number}) => resolve(message.port))
    child.once("exit", (code) => reject(new Error(`app exited with ${code}`)))
  })
  return {child, port}
}

async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {method: "POST"})
  const cookie = response.headers.getSetCookie()[0]?.split(";")[0]
  if (!cookie) throw new Error("no session cookie")
  return cookie
}

async function load(port: number, cookie: string, route: "read" | "write", seconds: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/${route}`,
    method: route === "read" ? "GET" : "POST",
    headers: {cookie},
    connections: 32,
    duration: seconds,
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${route}: ${result.non2xx} non-2xx replies, ${result.errors} errors`)
  }
  return {rps: result.requests.average, p99: result.latency.p99}
}

async function endToEnd(server: RedisServer) {
  log("4. end to end over HTTP (autocannon, 32 connections)")
  const apps = [
    {name: OURS, ...(await startApp("ours", server.url))},
    {name: CONNECT_REDIS, ...(await startApp("connect-redis", server.url))},
  ]
  const cookies = new Map(
    await Promise.all(apps.map(async (app) => [app.name, await login(app.port)] as const)),
  )
  const rps = new Map<string, number[]>()
  const p99 = new Map<string, number[]>()
  const routes = ["read", "write"] as const
  for (const app of apps)
    for (const route of routes) await load(app.port, cookies.get(app.name) ?? "", route, 1)
  for (let round = 0; round < CONFIG.e2eRounds; round++) {
    for (const route of routes) {
      for (const app of rotated(apps, round)) {
        const result = await load(app.port, cookies.get(app.name) ?? "", route, CONFIG.e2eSeconds)
        const key = `${route}/${app.name}`
        rps.set(key, [...(rps.get(key) ?? []), result.rps])
        p99.set(key, [...(p99.get(key) ?? []), result.p99])
      }
    }
    log(`   round ${round + 1}/${CONFIG.e2eRounds}`)
  }
  await Promise.all(
    apps.map(
      (app) =>
        new Promise((resolve) => {
          app.child.once("exit", resolve)
          app.child.send("exit")
        }),
    ),
  )
  const rows = routes.flatMap((route) =>
    apps.map((app) => [
      route === "read" ? "GET /read (touch)" : "POST /write (set)",
      app.name,
      formatSummary(summarize(rps.get(`${route}/${app.name}`) ?? [])),
      formatSummary(summarize(p99.get(`${route}/${app.name}`) ?? [])),
    ]),
  )
  // Per-round ratios, as in section 1: the two apps ran back to back.
  const ratio = (route: string) => {
    const theirs = rps.get(`${route}/${CONNECT_REDIS}`) ?? []
    return summarize(
      (rps.get(`${route}/${OURS}`) ?? []).map(
        (ours, round) => ours / (theirs[round] ?? Number.NaN),
      ),
    )
  }
  const targets = routes.map((route) =>
    target(
      `end to end ${route}: at least connect-redis's requests per second`,
      ratio(route).median >= 1,
      `${formatSummary(ratio(route), 3)} ×`,
    ),
  )
  return {
    markdown: `${markdownTable(["route", "store", "requests/s", "p99 latency ms"], rows)}\n\nMedian (min–max) over ${CONFIG.e2eRounds} interleaved rounds of ${CONFIG.e2eSeconds} s each; each app in its own process, logged in with one cookie. The targets table gives the per-round ratio of requests per second.`,
    targets,
  }
}

// ---------------------------------------------------------------------------------------------
// 7. An outage under HTTP load

async function outageSection() {
  const {markdown, errorsAfter} = await measureOutage(startApp, QUICK ? 1 : 5)
  const targets = [...errorsAfter]
    .filter(([key]) => key.endsWith(OURS))
    .map(([key, errors]) =>
      target(`outage (${key.split("/")[0]}): no errors after recovery`, errors === 0, `${errors}`),
    )
  return {markdown, targets}
}

// ---------------------------------------------------------------------------------------------

interface Target {
  text: string
  met: boolean
  value: string
}

function target(text: string, met: boolean, value: string): Target {
  return {text, met, value}
}

function versionOf(packageName: string): string {
  const url = new URL(`../node_modules/${packageName}/package.json`, import.meta.url)
  return (JSON.parse(readFileSync(url, "utf8")) as {version: string}).version
}

async function main() {
  const started = Date.now()
  const server = await startRedisServer()
  const cluster = await startCluster(3)
  const pinned =
    !process.argv.includes("--no-pin") &&
    pinTo(process.pid, 0) &&
    [server, ...cluster.nodes].every((node) => pinTo(node.pid, 1))
  try {
    const info = String(await server.command("INFO", "server"))
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown"

    const skipped = {markdown: "(not run)", targets: [] as Target[]}
    const ops = runs("ops") ? await perOperation(server) : skipped
    const standalone = runs("bulk") ? await bulkStandalone(server) : skipped
    const clustered = runs("cluster") ? await bulkCluster(cluster) : skipped
    const e2e = runs("e2e") ? await endToEnd(server) : skipped
    log("5. the store's own cost per call")
    const overhead = runs("overhead")
      ? await measureOverhead(realisticSession(), QUICK ? 3 : 21, QUICK ? 20_000 : 200_000)
      : "(not run)"
    log("6. cost inside Redis per operation")
    const redisCost = runs("redis")
      ? await measureRedisCost(server, realisticSession(), QUICK ? 1 : 9, QUICK ? 200 : 2_000)
      : "(not run)"

    log("7. an outage under HTTP load")
    const outage = runs("outage") ? await outageSection() : skipped

    const targets = [
      ...ops.targets,
      ...standalone.targets,
      ...clustered.targets,
      ...e2e.targets,
      ...outage.targets,
    ]
    const report = [
      "# Benchmark results",
      "",
      `Command: \`${COMMAND}\` (${QUICK ? "quick smoke run: small sizes, not for claims" : "full run"}).`,
      "",
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown CPU"}, ${formatNumber(os.totalmem() / 1024 ** 3)} GiB, ${os.platform()} ${os.release()}`,
      `- Node.js ${process.version}, Redis ${redisVersion}`,
      `- redis (node-redis) ${versionOf("redis")}, redis5 (node-redis) ${versionOf("redis5")}, connect-redis ${versionOf("connect-redis")}, express-session ${versionOf("express-session")}, autocannon ${versionOf("autocannon")}`,
      `- Took ${formatNumber((Date.now() - started) / 1000)} s; ${pinned ? "benchmark process pinned to core 0, Redis, probe and HTTP apps to core 1 (taskset)" : "processes not pinned to cores"}`,
      "",
      "Every number is the median over interleaved rounds, with (min–max). On this machine class",
      "the control column of section 1 (identical code against itself) lands up to 10% from 1.0:",
      "read differences smaller than that as noise, and see section 5 for the store's own cost.",
      "",
      "## Targets",
      "",
      markdownTable(
        ["target", "measured", "met"],
        targets.map((t) => [t.text, t.value, t.met ? "yes" : "**no**"]),
      ),
      "",
      `## 1. get / set / touch / destroy, ${CONCURRENCY} concurrent callers`,
      "",
      ops.markdown,
      "",
      `## 2. Bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, standalone Redis (scanCount 100)`,
      "",
      standalone.markdown,
      "",
      "Slowest concurrent GET: the slowest reply another process got while it sent one GET about",
      "every millisecond during the operation, i.e. how long the operation blocked Redis for",
      "everyone else; the (idle) row is the same probe while nothing runs. Longest command in Redis: the longest single command any master executed during the operation, from its SLOWLOG (server time: network and client noise do not enter it, but a stall of the whole machine during a command does; commands under 0.2 ms are not logged). Peak live heap: the most this process's heap held above its level before, measured in a separate untimed run with a full GC every 50 ms (so young garbage is not counted).",
      "",
      `## 3. Bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, three-master cluster`,
      "",
      clustered.markdown,
      "",
      "## 4. End to end: Express + express-session over HTTP",
      "",
      e2e.markdown,
      "",
      "## 5. The store's own cost per call",
      "",
      overhead,
      "",
      "## 6. Cost inside Redis per operation",
      "",
      redisCost,
      "",
      "## 7. An outage under HTTP load",
      "",
      outage.markdown,
      "",
    ].join("\n")
    process.stdout.write(`${report}\n`)
    if (!QUICK && ONLY === undefined) {
      await writeFile(new URL("./RESULTS.md", import.meta.url), report)
      log("wrote bench/RESULTS.md")
    }
  } finally {
    await cluster.stop()
    await server.stop()
  }
}

// Ctrl+C: exit normally, so the server helper's exit hook stops every redis-server it started.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130))

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
