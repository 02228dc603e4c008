// Section 9: admin work on a million sessions (standalone Redis): walking every session with
// entries(), and revoking one owner's sessions with the owner index against finding them by
// walking every session.

import type {SessionData} from "express-session"
import {type RedisClientLike, RedisStore} from "../src/index.js"
import type {RedisServer} from "../test/support/redis-servers.js"
import {heaviestCommand, longestCommand} from "./bulk.js"
import {type BulkSample, CommandLog, measureBulk, measureLiveHeap, Probe} from "./bulk-measure.js"
import {connect6, log, QUICK, realisticSession, seed, type Target, target} from "./common.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

const SESSIONS = Number(process.env.BENCH_ADMIN_SESSIONS ?? (QUICK ? 20_000 : 1_000_000))
const OWNER_SESSIONS = 20
const REVOKE_ROUNDS = QUICK ? 2 : 15
const HEAP_LIMIT_MIB = 50
const COMMAND_LIMIT_MS = 5

const ownerOf = (session: SessionData) => (session as {userId?: string}).userId

export async function adminSection(server: RedisServer) {
  log(`9. admin work on ${formatNumber(SESSIONS)} sessions`)
  const client = await connect6(server.url)
  const probe = await Probe.start([server.url])
  const commands = new CommandLog([server])
  const prefix = "admin:"
  const store = new RedisStore({client: client as RedisClientLike, prefix, owner: ownerOf})
  try {
    await client.flushAll()
    await seed(client, prefix, SESSIONS)

    let walked = 0
    const walk = await measureBulk(probe, commands, async () => {
      walked = 0
      for await (const _ of store.entries()) walked++
    })
    const walkHeap = await measureLiveHeap(async () => {
      for await (const _ of store.entries()) {
        // Nothing kept: what the walk itself holds is what is measured.
      }
    })

    const owned = () => ({...realisticSession(), userId: "owner-7"}) as SessionData
    // New ids each round: the ids revoked before are tombstones, which refuse a write.
    let planted = 0
    const plant = () => {
      planted++
      const sids = Array.from({length: OWNER_SESSIONS}, (_, i) => `owned-${planted}-${i}`)
      return Promise.all(sids.map((sid) => store.set(sid, owned())))
    }
    const revokeSamples: BulkSample[] = []
    for (let round = 0; round < REVOKE_ROUNDS; round++) {
      await plant()
      const sample = await measureBulk(probe, commands, async () => {
        const ended = await store.revokeOwner("owner-7")
        if (ended !== OWNER_SESSIONS) throw new Error(`revoked ${ended}, not ${OWNER_SESSIONS}`)
      })
      if (sample.error) throw new Error(sample.error)
      revokeSamples.push(sample)
    }

    // The way without an index: read every session, end those of the owner.
    await plant()
    const byWalk = await measureBulk(probe, commands, async () => {
      for await (const [id, session] of store.entries()) {
        if (ownerOf(session) === "owner-7") await store.destroy(id)
      }
    })

    const rows = [
      [
        `entries() over every session (${formatNumber(walked)} read)`,
        formatNumber(walk.ms),
        formatNumber(walkHeap, 1),
        longestCommand([walk]),
        formatNumber(walk.slowestGetMs),
      ],
      [
        `revokeOwner(): ${OWNER_SESSIONS} sessions of one owner (median of ${REVOKE_ROUNDS})`,
        formatSummary(summarize(revokeSamples.map((sample) => sample.ms)), 1),
        "",
        longestCommand(revokeSamples),
        "",
      ],
      [
        "the same owner found by walking entries() and destroyed (no index)",
        formatNumber(byWalk.ms),
        "",
        longestCommand([byWalk]),
        formatNumber(byWalk.slowestGetMs),
      ],
    ]
    const markdown = [
      `${formatNumber(SESSIONS)} sessions of ${formatNumber(JSON.stringify(realisticSession()).length)} bytes on one standalone Redis, node-redis 6, scanCount 100, option owner set.`,
      "",
      markdownTable(
        [
          "operation",
          "time ms",
          "peak live heap MiB",
          "longest command in Redis",
          "slowest concurrent GET ms",
        ],
        rows,
      ),
      "",
      "Longest command: from SLOWLOG, which logs commands of 0.2 ms or more.",
    ].join("\n")
    const targets: Target[] = [
      target(
        `entries() over ${formatNumber(SESSIONS)} sessions: peak live heap under ${HEAP_LIMIT_MIB} MiB`,
        walkHeap < HEAP_LIMIT_MIB,
        `${formatNumber(walkHeap, 1)} MiB`,
      ),
      target(
        `entries() over ${formatNumber(SESSIONS)} sessions: longest command under ${COMMAND_LIMIT_MS} ms`,
        walk.longestCommandMicros < COMMAND_LIMIT_MS * 1000,
        `${longestCommand([walk])}; ${heaviestCommand([walk])}`,
      ),
    ]
    return {markdown, targets}
  } finally {
    await probe.stop()
    await client.flushAll()
    client.destroy()
  }
}
