// Sections 2 and 3: bulk work on many sessions, standalone and on clusters.

import {RedisStore as ConnectRedisStore} from "connect-redis"
import {Cluster as IoredisCluster} from "ioredis"
import * as redis6 from "redis"
import * as redis5 from "redis5"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import type {RedisCluster, RedisServer} from "../test/support/redis-servers.js"
import {
  type BulkSample,
  CommandLog,
  idleBaseline,
  measureBulk,
  measureLiveHeap,
  Probe,
  SLOWLOG_THRESHOLD_MICROS,
} from "./bulk-measure.js"
import {
  CONFIG,
  CONNECT_REDIS,
  connect6,
  connectIoredis,
  log,
  OURS,
  OURS_IOREDIS,
  RAW_IOREDIS,
  rotated,
  seed,
  type Target,
  target,
} from "./common.js"
import {rawIoredisBulk} from "./raw-ioredis.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

interface BulkStore {
  name: string
  length(): Promise<unknown>
  ids(): Promise<unknown>
  all(): Promise<unknown>
  clear(): Promise<unknown>
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
      longestCommandName: "",
      heaviestAverageMicros: Number.NaN,
      heaviestAverageName: "",
    })),
  )
  return samples
}

/** "heaviest on average: evalsha, 0.31 ms a call" (the worst round's). */
export function heaviestCommand(samples: readonly BulkSample[]): string {
  const worst = Math.max(...samples.map((sample) => sample.heaviestAverageMicros))
  const sample = samples.find((s) => s.heaviestAverageMicros === worst)
  return `heaviest on average: ${sample?.heaviestAverageName ?? "?"}, ${formatNumber(worst / 1000, 2)} ms a call`
}

/** The worst round's longest command: "4.5 ms (EVALSHA tombstone-on-node)". */
export function longestCommand(samples: readonly BulkSample[]): string {
  const worst = samples.reduce<BulkSample | undefined>(
    (max, sample) =>
      max === undefined || sample.longestCommandMicros > max.longestCommandMicros ? sample : max,
    undefined,
  )
  if (worst === undefined || !(worst.longestCommandMicros >= SLOWLOG_THRESHOLD_MICROS)) {
    return "< 0.2 ms"
  }
  return `${formatNumber(worst.longestCommandMicros / 1000, 1)} ms (${worst.longestCommandName})`
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
      "longest command in Redis (worst round)",
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
    `${formatNumber(ours.median, 1)} ms (worst round ${formatNumber(ours.max, 1)}; idle machine ${formatNumber(idle.median, 1)}, worst ${formatNumber(idle.max, 1)}; longest command inside Redis ${longestCommand(list)})`,
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
  targets.push(...timeTargets(samples, where, 1.2))
  return targets
}

/** all() and clear(): our median time over connect-redis's, at most `limit`. */
function timeTargets(samples: Map<string, BulkSample[]>, where: string, limit: number) {
  const medianMs = (op: BulkOp, name: string) =>
    summarize((samples.get(`${op}/${name}`) ?? []).map((s) => s.ms)).median
  return (["all", "clear"] as BulkOp[]).map((op) => {
    const text =
      limit === 1 ? "no slower than connect-redis" : `at most ${limit} × connect-redis's time`
    const theirFailure = samples.get(`${op}/${CONNECT_REDIS}`)?.find((sample) => sample.error)
    if (theirFailure) {
      return target(
        `${where} ${op}: ${text}`,
        true,
        `connect-redis fails (${theirFailure.error?.split(" ")[0]})`,
      )
    }
    const ratio = medianMs(op, OURS) / medianMs(op, CONNECT_REDIS)
    return target(`${where} ${op}: ${text}`, ratio <= limit, `${formatNumber(ratio, 2)} ×`)
  })
}

function asBulk(name: string, store: Omit<BulkStore, "name">): BulkStore {
  return {
    name,
    length: () => store.length(),
    ids: () => store.ids(),
    all: () => store.all(),
    clear: () => store.clear(),
  }
}

function bulkStores(client: RedisClientLike, prefix: string): BulkStore[] {
  const ours = new RedisStore(client, {prefix})
  const theirs = new ConnectRedisStore({client, prefix})
  return [asBulk(OURS, ours), asBulk(CONNECT_REDIS, theirs)]
}

export async function bulkStandalone(server: RedisServer) {
  const client = await connect6(server.url)
  const ioredis = await connectIoredis(server.url)
  const probe = await Probe.start([server.url])
  const prefix = "bulk:"
  const samples = await bulk(
    `2. bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, standalone`,
    [
      ...bulkStores(client as RedisClientLike, prefix),
      asBulk(OURS_IOREDIS, new RedisStore(ioredis, {prefix})),
      asBulk(RAW_IOREDIS, rawIoredisBulk(ioredis, prefix)),
    ],
    probe,
    [server],
    () => seed(client, prefix, CONFIG.bulkSessions),
    CONFIG.bulkRounds,
  )
  await probe.stop()
  await client.close()
  ioredis.disconnect()
  return {
    markdown: bulkTable(samples, [OURS, CONNECT_REDIS, OURS_IOREDIS, RAW_IOREDIS]),
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
    const where = `cluster (node-redis ${version})`
    targets.push(
      ...BULK_OPS.map((op) => slowestGetTarget(samples, `${where} ${op}`, op)),
      ...timeTargets(samples, where, 1),
      ...(["all", "clear"] as BulkOp[]).map((op) => {
        const list = samples.get(`${op}/${OURS}`) ?? []
        const worst = Math.max(...list.map((sample) => sample.longestCommandMicros))
        return target(
          `${where} ${op}: longest command in Redis under 5 ms`,
          worst < 5_000,
          `${longestCommand(list)}, worst round; ${heaviestCommand(list)}`,
        )
      }),
    )
    // Leave the cluster empty for the next client (cleanup, not measured).
    await new RedisStore(seeder, {prefix}).clear()
    await client.destroy()
  }
  // ioredis 6: connect-redis cannot run on it (its writes fail), so ours alone.
  const ioredis = new IoredisCluster(
    cluster.rootNodes.map(({url}) => url),
    {lazyConnect: true},
  )
  ioredis.on("error", (error: Error) => log(`ioredis cluster error: ${error.message}`))
  await ioredis.connect()
  const prefix = "cbulkio:"
  const samples = await bulk(
    `3. bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, 3-master cluster, ioredis 6`,
    [asBulk(OURS_IOREDIS, new RedisStore(ioredis, {prefix}))],
    probe,
    cluster.nodes,
    () => seed(seeder, prefix, CONFIG.bulkSessions),
    CONFIG.clusterRounds,
  )
  sections.push(`#### ioredis 6 cluster\n\n${bulkTable(samples, [OURS_IOREDIS])}`)
  await new RedisStore(seeder, {prefix}).clear()
  ioredis.disconnect()
  await seeder.destroy()
  await probe.stop()
  return {markdown: sections.join("\n\n"), targets}
}
