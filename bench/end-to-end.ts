// Sections 4 and 7: Express + express-session over HTTP, and an outage under HTTP load.

import {type ChildProcess, fork} from "node:child_process"
import autocannon from "autocannon"
import type {RedisServer} from "../test/support/redis-servers.js"
import {CONFIG, CONNECT_REDIS, log, OURS, pinTo, QUICK, rotated, target} from "./common.js"
import {measureOutage} from "./outage.js"

const CONNECTIONS = 32

import {formatSummary, markdownTable, summarize} from "./stats.js"

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
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  }
}

export async function endToEnd(server: RedisServer) {
  log(`4. end to end over HTTP (autocannon, ${CONNECTIONS} connections)`)
  const apps = [
    {name: OURS, ...(await startApp("ours", server.url))},
    {name: CONNECT_REDIS, ...(await startApp("connect-redis", server.url))},
  ]
  const cookies = new Map(
    await Promise.all(apps.map(async (app) => [app.name, await loginMany(app.port)] as const)),
  )
  const rps = new Map<string, number[]>()
  const p99 = new Map<string, number[]>()
  const routes = ["read", "write"] as const
  for (const app of apps)
    for (const route of routes) await load(app.port, cookies.get(app.name) ?? [], route, 1)
  for (let round = 0; round < CONFIG.e2eRounds; round++) {
    for (const route of routes) {
      for (const app of rotated(apps, round)) {
        const result = await load(app.port, cookies.get(app.name) ?? [], route, CONFIG.e2eSeconds)
        if (result.failed > 0) throw new Error(`${route}: ${result.failed} failed requests`)
        const key = `${route}/${app.name}`
        rps.set(key, [...(rps.get(key) ?? []), result.rps])
        p99.set(key, [...(p99.get(key) ?? []), result.p99])
      }
    }
    log(`   round ${round + 1}/${CONFIG.e2eRounds}`)
  }
  await Promise.all(apps.map(stopApp))
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
    markdown: `${markdownTable(["route", "store", "requests/s", "p99 latency ms"], rows)}\n\nMedian (min–max) over ${CONFIG.e2eRounds} interleaved rounds of ${CONFIG.e2eSeconds} s each; each app in its own process; each of the 32 connections is a browser with a session of its own (one request at a time per session). The targets table gives the per-round ratio of requests per second.`,
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
