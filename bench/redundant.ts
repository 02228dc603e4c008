// Section 8: redundant mode over HTTP. The same app with two servers against one, and with
// one of the two killed (kill -9).

import {RestartableServer} from "../test/support/outages.js"
import {CONFIG, log, rotated, target} from "./common.js"
import {load, loginMany, startApp, stopApp} from "./end-to-end.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

const ONE = "one server"
const TWO = "two servers (clients: [a, b])"
const ROUTES = ["read", "write"] as const

export async function redundantSection() {
  log("8. redundant mode over HTTP")
  const servers = [await RestartableServer.start(), await RestartableServer.start()] as const
  const apps = [
    // Redundant mode cannot merge (concurrentWrites "overwrite"): the one-server app neither.
    {name: ONE, ...(await startApp("ours-overwrite", servers[0].url))},
    {name: TWO, ...(await startApp("ours-redundant", servers[0].url, servers[1].url))},
  ]
  try {
    const cookies = new Map(
      await Promise.all(apps.map(async (app) => [app.name, await loginMany(app.port)] as const)),
    )
    const cookie = (name: string) => cookies.get(name) ?? []
    for (const app of apps)
      for (const route of ROUTES) await load(app.port, cookie(app.name), route, 1)
    const rps = new Map<string, number[]>()
    const p99 = new Map<string, number[]>()
    for (let round = 0; round < CONFIG.e2eRounds; round++) {
      for (const route of ROUTES) {
        for (const app of rotated(apps, round)) {
          const result = await load(app.port, cookie(app.name), route, CONFIG.e2eSeconds)
          if (result.failed > 0) throw new Error(`${route}: ${result.failed} failed requests`)
          const key = `${route}/${app.name}`
          rps.set(key, [...(rps.get(key) ?? []), result.rps])
          p99.set(key, [...(p99.get(key) ?? []), result.p99])
        }
      }
      log(`   round ${round + 1}/${CONFIG.e2eRounds}`)
    }
    // One of the two servers killed: the two-server app keeps going on the other.
    await servers[1].kill()
    const two = apps[1] as (typeof apps)[number]
    const down = []
    for (const route of ROUTES) {
      down.push({route, ...(await load(two.port, cookie(TWO), route, CONFIG.e2eSeconds))})
    }
    await servers[1].restart()

    const ratio = (route: string) => {
      const ones = rps.get(`${route}/${ONE}`) ?? []
      return summarize(
        (rps.get(`${route}/${TWO}`) ?? []).map((r, i) => r / (ones[i] ?? Number.NaN)),
      )
    }
    const label = (route: string) => (route === "read" ? "GET /read (touch)" : "POST /write (set)")
    const rows = ROUTES.flatMap((route) =>
      apps.map((app) => [
        label(route),
        app.name,
        formatSummary(summarize(rps.get(`${route}/${app.name}`) ?? [])),
        formatSummary(summarize(p99.get(`${route}/${app.name}`) ?? [])),
      ]),
    )
    const downRows = down.map((result) => [
      label(result.route),
      formatNumber(result.rps),
      formatNumber(result.p50),
      formatNumber(result.p99),
      formatNumber(result.max),
      formatNumber(result.failed),
    ])
    return {
      markdown: [
        markdownTable(["route", "store", "requests/s", "p99 latency ms"], rows),
        "",
        `Median (min–max) over ${CONFIG.e2eRounds} interleaved rounds of ${CONFIG.e2eSeconds} s each, 32 connections (a session each), each app in its own process; the one-server app with concurrentWrites "overwrite", as redundant mode. With one of the two servers killed (kill -9), the two-server app for ${CONFIG.e2eSeconds} s per route:`,
        "",
        markdownTable(
          ["route", "requests/s", "p50 ms", "p99 ms", "max ms", "failed requests"],
          downRows,
        ),
      ].join("\n"),
      targets: ROUTES.map((route) =>
        target(
          `redundant ${route}: two servers at least 0.8 × one server's requests per second`,
          ratio(route).median >= 0.8,
          `${formatSummary(ratio(route), 3)} ×`,
        ),
      ).concat(
        target(
          "redundant: no failed request while one of two servers is down",
          down.every((result) => result.failed === 0),
          `${down.reduce((sum, result) => sum + result.failed, 0)}`,
        ),
      ),
    }
  } finally {
    await Promise.all(apps.map(stopApp))
    await Promise.all(servers.map((server) => server.stop()))
  }
}
