import {RedisStore as ConnectRedisStore} from "connect-redis"
import type {SessionData} from "express-session"
import {RedisStore} from "../src/index.js"
import type {RedisServer} from "../test/support/redis-servers.js"
import {
  type Client6,
  CONCURRENCY,
  CONFIG,
  CONNECT_REDIS,
  CONTROL,
  connect6,
  connectIoredis,
  log,
  OURS,
  OURS_IOREDIS,
  OURS_NO_TOMBSTONES,
  RAW,
  RAW_IOREDIS,
  realisticSession,
  rotated,
  SESSION_POOL,
  seed,
  target,
} from "./common.js"
import {rawIoredisOperations} from "./raw-ioredis.js"
import {
  formatNumber,
  formatSummary,
  markdownTable,
  type Summary,
  summarize,
  type ThroughputSample,
  throughput,
} from "./stats.js"

interface Contender {
  name: string
  /** Where this contender keeps its keys. */
  prefix: string
  get(sid: string): Promise<unknown>
  set(sid: string, session: SessionData): Promise<unknown>
  touch(sid: string, session: SessionData): Promise<unknown>
  destroy(sid: string): Promise<unknown>
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

export async function perOperation(server: RedisServer) {
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
  const ioredisClients = await Promise.all([0, 1].map(() => connectIoredis(server.url)))
  const [ourIoredis, rawIoredis] = ioredisClients as [
    (typeof ioredisClients)[0],
    (typeof ioredisClients)[0],
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
    storeContender(OURS_IOREDIS, new RedisStore({client: ourIoredis, prefix: "op:ours-io:"})),
    storeContender(RAW_IOREDIS, {
      prefix: "op:raw-io:",
      ...rawIoredisOperations(rawIoredis, "op:raw-io:"),
    }),
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
  for (const client of ioredisClients) client.disconnect()

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
  const ioredisNames = [OURS_IOREDIS, RAW_IOREDIS]
  const ioredisTable = markdownTable(
    [
      "operation",
      ...ioredisNames.map((name) => `${name} ops/s`),
      "ours / raw ioredis",
      ...ioredisNames.map((name) => `${name} CPU µs/op`),
      "raw / ours CPU",
    ],
    OPS.map((op) => [
      op,
      ...ioredisNames.map((name) => formatSummary(summary(op, name, (s) => s.opsPerSecond))),
      formatSummary(wallRatio(op, RAW_IOREDIS, OURS_IOREDIS), 3),
      ...ioredisNames.map((name) =>
        formatSummary(
          summary(op, name, (s) => s.cpuMicrosPerOp),
          2,
        ),
      ),
      formatSummary(cpuRatio(op, RAW_IOREDIS, OURS_IOREDIS), 3),
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
      "",
      "On ioredis 6, in the same interleaved rounds: the store over an ioredis client against raw ioredis (tombstones on, so the store sends SET ... GET, GETEX and EVALSHA where the raw code sends SET, EXPIRE and DEL; section 6 has the cost of that difference inside Redis):",
      "",
      ioredisTable,
    ].join("\n"),
    targets,
  }
}
