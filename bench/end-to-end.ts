// Sections 4 and 7: Express + express-session over HTTP, and an outage under HTTP load.

import {type ChildProcess, fork} from "node:child_process"
import autocannon from "autocannon"
import {type RedisServer, startRedisServer} from "../test/support/redis-servers.js"
import {
  CONFIG,
  CONNECT_REDIS,
  CONNECT_REDIS_11,
  log,
  OURS,
  pinTo,
  QUICK,
  rotated,
  target,
} from "./common.js"
import {measureOutage} from "./outage.js"

const CONNECTIONS = 32

import {type CommandSources, clientMicros, monitored, redisStats, total} from "./redis-work.js"
import {formatNumber, formatSummary, markdownTable, summarize} from "./stats.js"

// ---------------------------------------------------------------------------------------------
// 4. End to end over HTTP

export async function startApp(
  store: string,
  ...urls: string[]
): Promise<{child: ChildProcess; port: number}> {
  const child = fork(new URL("./app.ts", import.meta.url), [store, ...urls], {
    execArgv: ["--import", "tsx"],
  })
  if (!process.argv.includes("--no-pin")) pinTo(child.pid, 1)
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message: {port: number}) => resolve(message.port))
    child.once("exit", (code) => reject(new Error(`app exited with ${code}`)))
  })
  return {child, port}
}

/** The app process's CPU time so far, in µs (user + system). */
export function appCpu(app: {child: ChildProcess}): Promise<number> {
  return new Promise((resolve) => {
    const listener = (message: {cpu?: number}) => {
      if (typeof message?.cpu !== "number") return
      app.child.off("message", listener)
      resolve(message.cpu)
    }
    app.child.on("message", listener)
    app.child.send("cpu")
  })
}

/** Asks an app process to close its server and clients, and waits for it to exit. */
export function stopApp(app: {child: ChildProcess}): Promise<unknown> {
  return new Promise((resolve) => {
    app.child.once("exit", resolve)
    app.child.send("exit")
  })
}

export async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {method: "POST"})
  const cookie = response.headers.getSetCookie()[0]?.split(";")[0]
  if (!cookie) throw new Error("no session cookie")
  return cookie
}

/** Logs `count` browsers in: one session cookie each. */
export function loginMany(port: number, count = CONNECTIONS): Promise<string[]> {
  return Promise.all(Array.from({length: count}, () => login(port)))
}

/**
 * `seconds` of load on `route` over CONNECTIONS connections, each a browser of its own: it
 * sends one of `cookies` (connection n the n-th), so that each session sees one request at a
 * time, as many users would. Overlapping requests of one user are section 10's subject.
 */
export async function load(
  port: number,
  cookies: readonly string[],
  route: "read" | "write",
  seconds: number,
) {
  let next = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: route === "read" ? "GET" : "POST",
        path: `/${route}`,
        setupRequest: (request, context: {cookie?: string | undefined}) => {
          context.cookie ??= cookies[next++ % cookies.length]
          return {...request, headers: {...request.headers, cookie: context.cookie ?? ""}}
        },
      },
    ],
  })
  return {
    failed: result.non2xx + result.errors,
    total: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  }
}

/** What each app is measured on: a framework's route, and what its store is asked. */
const ROUTES = [
  {name: "read", label: "express GET /read (unchanged: get + touch)", framework: "", path: "read"},
  {name: "write", label: "express POST /write (changed: get + set)", framework: "", path: "write"},
  {
    name: "fastify",
    label: "@fastify/session GET /read (rolling: get + set)",
    framework: "@fastify",
    path: "read",
  },
] as const
type Route = (typeof ROUTES)[number]

/** `count` requests on `route`, one at a time, each with one of `cookies`. */
async function sequential(port: number, cookies: readonly string[], route: Route, count: number) {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/${route.path}`, {
      method: route.path === "read" ? "GET" : "POST",
      headers: {cookie: cookies[i % cookies.length] ?? ""},
    })
    if (!response.ok) throw new Error(`${route.name}: HTTP ${response.status}`)
    await response.arrayBuffer()
  }
}

export async function endToEnd() {
  log(`4. end to end over HTTP (autocannon, ${CONNECTIONS} connections)`)
  const stores = [
    {name: OURS, argument: "ours"},
    {name: CONNECT_REDIS, argument: "connect-redis"},
    {name: CONNECT_REDIS_11, argument: "connect-redis-11"},
  ]
  // Each store on a Redis of its own, so that its work inside Redis is counted apart.
  const servers = await Promise.all(stores.map(() => startRedisServer()))
  if (!process.argv.includes("--no-pin")) for (const server of servers) pinTo(server.pid, 1)
  const apps = await Promise.all(
    stores.flatMap((store, i) =>
      ["", "@fastify"].map(async (framework) => {
        const server = servers[i] as RedisServer
        const app = await startApp(`${store.argument}${framework}`, server.url)
        return {store: store.name, framework, server, ...app, cookies: await loginMany(app.port)}
      }),
    ),
  )
  const appFor = (store: string, route: Route) =>
    apps.find((app) => app.store === store && app.framework === route.framework) as (typeof apps)[0]
  type Sample = {
    rps: number[]
    p99: number[]
    commands: number
    usec: number[]
    cpu: number[]
    appCpu: number[]
  }
  const sample = new Map<string, Sample>()
  const entry = (route: Route, store: string): Sample => {
    const key = `${route.name}/${store}`
    const found = sample.get(key) ?? {
      rps: [],
      p99: [],
      commands: Number.NaN,
      usec: [],
      cpu: [],
      appCpu: [],
    }
    sample.set(key, found)
    return found
  }
  const sources = new Map<string, CommandSources>()
  const run = async (store: string, route: Route, seconds: number) => {
    const app = appFor(store, route)
    const before = await redisStats(app.server)
    const appBefore = await appCpu(app)
    const result = await load(app.port, app.cookies, route.path, seconds)
    if (result.failed > 0) throw new Error(`${route.name}: ${result.failed} failed requests`)
    const appAfter = await appCpu(app)
    const after = await redisStats(app.server)
    const seen = sources.get(`${route.name}/${store}`)
    return {
      ...result,
      usecPerRequest: seen ? clientMicros(before, after, seen) / result.total : Number.NaN,
      cpuPerRequest: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / result.total,
      appCpuPerRequest: (appAfter - appBefore) / result.total,
    }
  }
  // Warm up: every app, every route once.
  for (const store of stores) for (const route of ROUTES) await run(store.name, route, 1)
  // What each request sends, seen by MONITOR over requests one at a time (not timed).
  const MONITORED = 100
  for (const store of stores) {
    for (const route of ROUTES) {
      const app = appFor(store.name, route)
      const seen = await monitored(app.server, () =>
        sequential(app.port, app.cookies, route, MONITORED),
      )
      sources.set(`${route.name}/${store.name}`, seen)
      entry(route, store.name).commands = total(seen.client) / MONITORED
    }
  }
  for (let round = 0; round < CONFIG.e2eRounds; round++) {
    for (const route of ROUTES) {
      for (const store of rotated(stores, round)) {
        const result = await run(store.name, route, CONFIG.e2eSeconds)
        const each = entry(route, store.name)
        each.rps.push(result.rps)
        each.p99.push(result.p99)
        each.usec.push(result.usecPerRequest)
        each.cpu.push(result.cpuPerRequest)
        each.appCpu.push(result.appCpuPerRequest)
      }
    }
    log(`   round ${round + 1}/${CONFIG.e2eRounds}`)
  }
  await Promise.all(apps.map(stopApp))
  await Promise.all(servers.map((server) => server.stop()))
  const of = entry
  const rows = ROUTES.flatMap((route) =>
    stores.map(({name}) => {
      const each = of(route, name)
      return [
        route.label,
        name,
        formatSummary(summarize(each.rps)),
        formatSummary(summarize(each.p99)),
        formatNumber(each.commands, 2),
        formatSummary(summarize(each.usec), 2),
        formatSummary(summarize(each.cpu), 1),
        formatSummary(summarize(each.appCpu)),
      ]
    }),
  )
  // Per-round ratios, as in section 1: the apps ran back to back.
  const perRound = (
    route: Route,
    theirs: string,
    field: "rps" | "p99" | "usec" | "cpu" | "appCpu",
  ) => {
    const their = of(route, theirs)[field]
    return summarize(of(route, OURS)[field].map((ours, i) => ours / (their[i] ?? Number.NaN)))
  }
  const goals = {read: 1.1, write: 1.0, fastify: 1.1}
  const usecGoals = {read: 0.9, write: 3, fastify: undefined}
  const targets = ROUTES.flatMap((route) =>
    [CONNECT_REDIS, CONNECT_REDIS_11].flatMap((theirs) => {
      const rps = perRound(route, theirs, "rps")
      const p99 = perRound(route, theirs, "p99")
      const usec = perRound(route, theirs, "usec")
      const usecGoal = usecGoals[route.name]
      // What the store decides in the app (the framework and client are the same for all).
      const appCpu = perRound(route, theirs, "appCpu")
      return [
        target(
          `end to end ${route.name}: at least ${goals[route.name]}× ${theirs}'s requests per second`,
          rps.median >= goals[route.name],
          `${formatSummary(rps, 3)} ×`,
        ),
        target(
          `end to end ${route.name}: p99 latency no worse than ${theirs}'s`,
          p99.median <= 1,
          `${formatSummary(p99, 3)} ×`,
        ),
        target(
          `end to end ${route.name}: app CPU per request no more than with ${theirs}`,
          appCpu.median <= 1,
          `${formatSummary(appCpu, 3)} ×`,
        ),
        ...(usecGoal === undefined
          ? []
          : [
              target(
                `end to end ${route.name}: µs inside Redis per request at most ${usecGoal}× ${theirs}'s`,
                usec.median <= usecGoal,
                `${formatSummary(usec, 2)} ×`,
              ),
            ]),
      ]
    }),
  )
  const write = ROUTES.find((route) => route.name === "write") as Route
  const shares = [CONNECT_REDIS, CONNECT_REDIS_11].map((theirs) => {
    const ours = of(write, OURS)
    const their = of(write, theirs)
    // Per round: the app and Redis share one core (taskset), so what Redis spends more per
    // request is taken from the app's requests; this is the requests/s ratio those CPU
    // figures alone would give, and the same with Redis's share made equal to theirs.
    const model = (redisOf: (i: number) => number) =>
      summarize(
        ours.appCpu.map(
          (app, i) => ((their.appCpu[i] as number) + (their.cpu[i] as number)) / (app + redisOf(i)),
        ),
      )
    const both = model((i) => ours.cpu[i] as number)
    const appOnly = model((i) => their.cpu[i] as number)
    const extra = summarize(ours.cpu.map((cpu, i) => cpu - (their.cpu[i] as number)))
    return `against ${theirs}: redis-server spends ${formatNumber(extra.median, 1)} µs more per request (the merge script's floor on this server: bench/script-floor.ts, CONTRIBUTING); app + redis-server CPU per request give a ratio of ${formatNumber(both.median, 3)}, and ${formatNumber(appOnly.median, 3)} with Redis's time per request equal to theirs`
  })
  const writeNote = `\n\nThe write route, where the app and Redis share one core: ${shares.join("; ")}.`
  return {
    markdown: `${markdownTable(["route", "store", "requests/s", "p99 latency ms", "commands sent per request", "µs in those commands per request", "redis-server CPU µs per request", "app CPU µs per request"], rows)}\n\nMedian (min–max) over ${CONFIG.e2eRounds} interleaved rounds of ${CONFIG.e2eSeconds} s each; each app in its own process, each store on a redis-server of its own (node-redis 6 client); each of the ${CONNECTIONS} connections is a browser with a session of its own (one request at a time per session). Commands sent per request: seen by MONITOR over ${100} requests one at a time, after the warm-up (a command a script runs inside Redis is no round trip, and is not counted). µs in those commands: INFO commandstats over each round, the commands scripts ran inside left out (the script's own time holds them). redis-server CPU: used_cpu_user + used_cpu_sys over each round, per request (reading, parsing and answering included). App CPU: the app process's own CPU time (process.cpuUsage) over each round, per request: the framework, the client and the store together. The targets table gives the per-round ratios.${writeNote}`,
    targets,
  }
}

// ---------------------------------------------------------------------------------------------
// 7. An outage under HTTP load

export async function outageSection() {
  const {markdown, errorsAfter} = await measureOutage(startApp, QUICK ? 1 : 5)
  const targets = [...errorsAfter]
    .filter(([key]) => key.endsWith(OURS))
    .map(([key, errors]) =>
      target(`outage (${key.split("/")[0]}): no errors after recovery`, errors === 0, `${errors}`),
    )
  return {markdown, targets}
}
