// Sections 2 and 3: bulk work on many sessions, standalone and on clusters.

import {type ChildProcess, fork} from "node:child_process"
import {monitorEventLoopDelay} from "node:perf_hooks"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import * as redis6 from "redis"
import * as redis5 from "redis5"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import type {RedisCluster, RedisServer} from "../test/helpers/redis-servers.js"
import {
  CONFIG,
  CONNECT_REDIS,
  connect6,
  log,
  MiB,
  OURS,
  pinTo,
  rotated,
  seed,
  type Target,
  target,
} from "./common.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

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

export async function bulkStandalone(server: RedisServer) {
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

export async function bulkCluster(cluster: RedisCluster) {
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
