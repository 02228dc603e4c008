// What each operation costs inside Redis: `usec_per_call` of the command each store sends,
// from INFO commandstats, with the stats reset before each contender's run. Server time
// only: the network and the client do not enter it, so it is steadier than throughput on
// a shared machine. For our scripts, the EVALSHA line includes the commands it runs.

import {RedisStore as ConnectRedisStore} from "connect-redis"
import {RedisStore as ConnectRedis11Store} from "connect-redis11"
import type {SessionData} from "express-session"
import * as redis6 from "redis"
import {RedisStore} from "../src/index.js"
import type {RedisServer} from "../test/support/redis-servers.js"
import {type Target, target} from "./common.js"
import {formatSummary, markdownTable, summarize} from "./stats.js"

type Op = "set" | "get" | "touch" | "destroy"
const OPS: Op[] = ["set", "get", "touch", "destroy"]

interface Contender {
  name: string
  store: Pick<RedisStore, "get" | "set" | "touch" | "destroy">
  /** The command this store sends for each operation. */
  command: Record<Op, string>
}

async function commandMicros(server: RedisServer, command: string): Promise<number> {
  const info = String(await server.command("INFO", "commandstats"))
  const match = new RegExp(`^cmdstat_${command}:calls=\\d+,usec=\\d+,usec_per_call=([\\d.]+)`, "m")
  return Number(match.exec(info)?.[1] ?? Number.NaN)
}

export async function measureRedisCost(
  server: RedisServer,
  session: SessionData,
  rounds: number,
  calls: number,
): Promise<{markdown: string; targets: Target[]}> {
  const client = redis6.createClient({url: server.url})
  await client.connect()
  const contenders: Contender[] = [
    {
      name: "redis-session-store",
      store: new RedisStore({client, prefix: "cost:ours:"}),
      // get renews the key (the touch of an unchanged request then sends nothing); a touch
      // the read did not cover is a script that re-times a string only.
      command: {set: "set", get: "getex", touch: "evalsha", destroy: "evalsha"},
    },
    {
      name: "redis-session-store, tombstoneSeconds: 0",
      store: new RedisStore({client, prefix: "cost:off:", tombstoneSeconds: 0}),
      command: {set: "set", get: "getex", touch: "pexpire", destroy: "del"},
    },
    {
      name: "connect-redis 10",
      store: new ConnectRedisStore({client, prefix: "cost:connect-redis:"}),
      command: {set: "set", get: "get", touch: "expire", destroy: "del"},
    },
    {
      name: "connect-redis 11",
      store: new ConnectRedis11Store({client, prefix: "cost:connect-redis-11:"}),
      command: {set: "set", get: "get", touch: "expire", destroy: "del"},
    },
  ]
  const micros = new Map<string, number[]>()
  const saveMicros = {
    set: [] as number[],
    script: [] as number[],
    empty: [] as number[],
    emptyWithArgs: [] as number[],
  }
  try {
    for (let round = 0; round < rounds; round++) {
      for (const op of OPS) {
        for (const contender of contenders) {
          // Fresh ids each round (set writes them, destroy ends them): ours leaves tombstones
          // at the ids it destroyed, and a set there would measure a refusal.
          const sidOf = (i: number) => `r${round}s${i}`
          await server.command("CONFIG", "RESETSTAT")
          const work: Promise<unknown>[] = []
          for (let i = 0; i < calls; i++) {
            const sid = sidOf(i)
            work.push(
              op === "get"
                ? contender.store.get(sid)
                : op === "destroy"
                  ? contender.store.destroy(sid)
                  : contender.store[op](sid, session),
            )
          }
          await Promise.all(work)
          const key = `${op}/${contender.name}`
          micros.set(key, [
            ...(micros.get(key) ?? []),
            await commandMicros(server, contender.command[op]),
          ])
        }
      }
    }
    // concurrentWrites "merge": the save of a session its request loaded is a script that
    // writes only over what was loaded. Against the SET ... GET it replaces, for a session of
    // about 1 KB serialized; no other write in between (the common case).
    const ours = contenders[0]?.store as RedisStore
    const kilobyte = {...session, notes: "n".repeat(1024 - JSON.stringify(session).length - 12)}
    for (let round = 0; round < rounds; round++) {
      const sids = Array.from({length: calls}, (_, i) => `kb${round}s${i}`)
      await server.command("CONFIG", "RESETSTAT")
      await Promise.all(sids.map((sid) => ours.set(sid, {...kilobyte})))
      saveMicros.set.push(await commandMicros(server, "set"))
      const loaded = await Promise.all(sids.map((sid) => ours.get(sid)))
      await server.command("CONFIG", "RESETSTAT")
      await Promise.all(
        loaded.map((each, i) => {
          const changed = each as SessionData & {views?: number}
          changed.views = 1
          return ours.set(sids[i] as string, changed)
        }),
      )
      saveMicros.script.push(await commandMicros(server, "evalsha"))
      // The floor of any script: an empty one, without and with the arguments the save sends.
      const sha = await client.scriptLoad("return 1")
      const [base, value] = [JSON.stringify(kilobyte), JSON.stringify({...kilobyte, views: 1})]
      for (const [into, args] of [
        [saveMicros.empty, []],
        [saveMicros.emptyWithArgs, [base, value, "86400000", "1"]],
      ] as const) {
        await server.command("CONFIG", "RESETSTAT")
        await Promise.all(
          sids.map((sid) => client.evalSha(sha, {keys: [sid], arguments: [...args]})),
        )
        into.push(await commandMicros(server, "evalsha"))
      }
    }
  } finally {
    client.destroy()
  }
  const rows = OPS.map((op) => [
    op,
    ...contenders.map(
      (contender) =>
        `${formatSummary(summarize(micros.get(`${op}/${contender.name}`) ?? []), 2)} (${contender.command[op].toUpperCase()})`,
    ),
  ])
  const [setCost, scriptCost] = [summarize(saveMicros.set), summarize(saveMicros.script)]
  const ratio = summarize(saveMicros.script.map((script, i) => script / (saveMicros.set[i] ?? 0)))
  const markdown = [
    markdownTable(
      ["operation", ...contenders.map((contender) => `${contender.name} µs in Redis`)],
      rows,
    ),
    "",
    `usec_per_call from INFO commandstats for the command each store sends, median (min–max) over ${rounds} rounds of ${calls} calls (stats reset before each run). For an EVALSHA it includes the commands the script runs.`,
    "",
    markdownTable(
      ["a 1 KB session, redis-session-store", "µs in Redis"],
      [
        ["set of a new session (SET ... PX ... GET)", formatSummary(setCost, 2)],
        [
          'save of a loaded session, concurrentWrites "merge" (EVALSHA)',
          formatSummary(scriptCost, 2),
        ],
        ["ratio, per round", `${formatSummary(ratio, 2)} ×`],
        [
          "the floor: an empty script (EVALSHA of `return 1`)",
          formatSummary(summarize(saveMicros.empty), 2),
        ],
        [
          "the floor with the save's four arguments (the loaded and the new value, the life, the tombstone flag)",
          formatSummary(summarize(saveMicros.emptyWithArgs), 2),
        ],
      ],
    ),
  ].join("\n")
  const targets = [
    target(
      'save of a loaded 1 KB session (concurrentWrites "merge" script): at most 2× the µs inside Redis of SET ... GET',
      ratio.median <= 2,
      `${formatSummary(ratio, 2)} ×`,
    ),
  ]
  return {markdown, targets}
}
