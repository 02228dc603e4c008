// Section 10: overlapping requests of one user. A logged-in browser sends N requests at once,
// each adding a field of its own to the session; afterwards the session should hold all N.
// With last-write-wins (connect-redis, or concurrentWrites "overwrite") each save writes the
// whole session as its request loaded it, so most of the other requests' fields are lost;
// with "merge" (the default) none is. Also reported: how long the burst took, and how many
// Redis commands (and µs inside Redis) each request cost, retries of the merge included.

import type {RedisServer} from "../test/support/redis-servers.js"
import {CONNECT_REDIS, log, OURS, QUICK, rotated, type Target, target} from "./common.js"
import {login, startApp, stopApp} from "./end-to-end.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

const BURST = 32
const ROUNDS = QUICK ? 1 : 12
const OURS_OVERWRITE = `${OURS}, concurrentWrites: "overwrite"`

interface Burst {
  lost: number
  ms: number
  commandsPerRequest: number
  redisMicrosPerRequest: number
}

/** Calls and µs of every command Redis ran since the last reset (INFO commandstats). */
async function commandTotals(server: RedisServer): Promise<{calls: number; micros: number}> {
  const info = String(await server.command("INFO", "commandstats"))
  let [calls, micros] = [0, 0]
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] === "info" || match[1] === "config") continue
    calls += Number(match[2])
    micros += Number(match[3])
  }
  return {calls, micros}
}

async function burst(server: RedisServer, port: number): Promise<Burst> {
  const cookie = await login(port)
  await server.command("CONFIG", "RESETSTAT")
  const started = performance.now()
  // Each answer read to its end: express-session holds back the last byte until its save is
  // done, so a request is over (its save written) only then.
  const answers = await Promise.all(
    Array.from({length: BURST}, async (_, n) => {
      const answer = await fetch(`http://127.0.0.1:${port}/add/${n}`, {
        method: "POST",
        headers: {cookie},
      })
      await answer.arrayBuffer()
      return answer
    }),
  )
  const ms = performance.now() - started
  const totals = await commandTotals(server)
  const failed = answers.filter((answer) => !answer.ok).length
  if (failed > 0) throw new Error(`${failed} of ${BURST} requests failed`)
  const read = await fetch(`http://127.0.0.1:${port}/fields`, {headers: {cookie}})
  const {count} = (await read.json()) as {count: number}
  return {
    lost: BURST - count,
    ms,
    commandsPerRequest: totals.calls / BURST,
    redisMicrosPerRequest: totals.micros / BURST,
  }
}

export async function contentionSection(server: RedisServer) {
  log(`10. ${BURST} overlapping requests of one user`)
  const apps = [
    {name: OURS, ...(await startApp("ours", server.url))},
    {name: OURS_OVERWRITE, ...(await startApp("ours-overwrite", server.url))},
    {name: CONNECT_REDIS, ...(await startApp("connect-redis", server.url))},
  ]
  const results = new Map<string, Burst[]>()
  try {
    for (const app of apps) await burst(server, app.port) // warm-up, not counted
    for (let round = 0; round < ROUNDS; round++) {
      for (const app of rotated(apps, round)) {
        results.set(app.name, [...(results.get(app.name) ?? []), await burst(server, app.port)])
      }
    }
  } finally {
    await Promise.all(apps.map(stopApp))
  }
  const of = (name: string, pick: (b: Burst) => number) =>
    summarize((results.get(name) ?? []).map(pick))
  const rows = apps.map((app) => [
    app.name,
    `${formatNumber(Math.max(...(results.get(app.name) ?? []).map((b) => b.lost)))} (median ${formatNumber(of(app.name, (b) => b.lost).median)})`,
    formatSummary(of(app.name, (b) => b.ms)),
    formatSummary(
      of(app.name, (b) => b.commandsPerRequest),
      2,
    ),
    formatSummary(
      of(app.name, (b) => b.redisMicrosPerRequest),
      1,
    ),
  ])
  const oursLosses = (results.get(OURS) ?? []).map((b) => b.lost)
  const oursLost = oursLosses.length > 0 ? Math.max(...oursLosses) : Number.NaN
  const targets: Target[] = [
    target(
      `${BURST} overlapping requests of one user, each adding a field: none lost (concurrentWrites "merge")`,
      oursLost === 0,
      `${formatNumber(oursLost)} lost at most, in ${ROUNDS} rounds`,
    ),
  ]
  const markdown = [
    markdownTable(
      [
        "store",
        `fields lost of ${BURST}: most (median)`,
        "burst ms",
        "Redis commands per request",
        "µs inside Redis per request",
      ],
      rows,
    ),
    "",
    `A logged-in browser sends ${BURST} requests at once (Express + express-session, each app in its own process, fetch over HTTP/1.1), each adding a field of its own to the session; then the session's fields are counted. Median (min–max) over ${ROUNDS} interleaved rounds. Commands and µs inside Redis are INFO commandstats totals over the burst (every request's get and save, the merge's retries included) divided by ${BURST}.`,
  ].join("\n")
  return {markdown, targets}
}
