// One route of section 4 alone, for A/B work on the app's CPU: each store's app on a
// redis-server of its own (apps and servers on core 1, this process on core 0, as in
// section 4), interleaved rounds of 3 s, and the app's own CPU time per request.
//
//   STORES=ours,ours-overwrite,connect-redis ROUTE=write ROUNDS=7 [REDIS_CORE=0] \
//     node --import tsx bench/app-cpu.ts
//
// "ours-b" in STORES is another build of the package, DIST_B=/path/to/its/dist/index.js (a
// worktree of the commit to compare, built there), beside this checkout's "ours": A/B of two
// versions in the same rounds. Needs the built package (npm run build). Prints one line per
// store: the median app CPU µs per request and requests/s, then each round's app CPU.

import {startRedisServer} from "../test/support/redis-servers.js"
import {pinTo} from "./common.js"
import {appCpu, load, loginMany, startApp, stopApp} from "./end-to-end.js"
import {summarize} from "./stats.js"

const stores = (process.env.STORES ?? "ours,ours-overwrite,connect-redis").split(",")
const route = (process.env.ROUTE ?? "write") as Parameters<typeof load>[2]
const rounds = Number(process.env.ROUNDS ?? 7)
// REDIS_CORE=0 puts the redis-servers beside this process instead of beside the apps: what
// Redis does then no longer shares the apps' core (its caches, its time slices).
const redisCore = Number(process.env.REDIS_CORE ?? 1)

pinTo(process.pid, 0)
const apps = []
for (const store of stores) {
  const server = await startRedisServer()
  pinTo(server.pid, redisCore)
  const app = await startApp(store, server.url)
  pinTo(app.child.pid, 1)
  apps.push({
    store,
    server,
    app,
    cookies: await loginMany(app.port),
    cpu: [] as number[],
    rps: [] as number[],
  })
}
for (const each of apps) await load(each.app.port, each.cookies, route, 2)
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < apps.length; k++) {
    const each = apps[(k + round) % apps.length] as (typeof apps)[0]
    const before = await appCpu(each.app)
    const result = await load(each.app.port, each.cookies, route, 3)
    each.cpu.push(((await appCpu(each.app)) - before) / result.total)
    each.rps.push(result.rps)
  }
}
for (const each of apps) {
  const cpu = summarize(each.cpu).median.toFixed(1)
  const rps = summarize(each.rps).median.toFixed(0)
  const rounds = each.cpu.map((value) => value.toFixed(0)).join(" ")
  console.log(
    `${each.store.padEnd(18)} app CPU µs/request ${cpu}, requests/s ${rps} (rounds: ${rounds})`,
  )
  await stopApp(each.app)
  await each.server.stop()
}
