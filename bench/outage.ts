// Section 7: an outage under HTTP load. Each store's app (bench/app.ts, default settings)
// serves GET /read to logged-in users while its Redis is killed (kill -9) or stalled
// (SIGSTOP) for a few seconds, then comes back (restarted on the same port with its data,
// or SIGCONT). Reported per phase: requests answered, errors, and response times.

import type {ChildProcess} from "node:child_process"
import {RestartableServer} from "../test/support/outages.js"
import {formatNumber, markdownTable} from "./stats.js"

type StartApp = (store: string, url: string) => Promise<{child: ChildProcess; port: number}>

interface Sample {
  at: number
  ms: number
  ok: boolean
}

const USERS = 16
/** A request still unanswered after this counts as an error (and frees its user). */
const GIVE_UP_MS = 15_000

async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {method: "POST"})
  const cookie = response.headers.getSetCookie()[0]?.split(";")[0]
  if (!cookie) throw new Error("no session cookie")
  return cookie
}

/** Runs `script` while USERS users send GET /read in a loop; returns every answer. */
async function underLoad(port: number, cookies: string[], script: () => Promise<void>) {
  const samples: Sample[] = []
  let running = true
  const loops = cookies.map(async (cookie) => {
    while (running) {
      const at = performance.now()
      let ok = false
      try {
        const response = await fetch(`http://127.0.0.1:${port}/read`, {
          headers: {cookie},
          signal: AbortSignal.timeout(GIVE_UP_MS),
        })
        await response.arrayBuffer()
        ok = response.status === 200
      } catch {
        ok = false
      }
      samples.push({at, ms: performance.now() - at, ok})
    }
  })
  try {
    await script()
  } finally {
    running = false
    await Promise.all(loops)
  }
  return samples
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

function phaseRow(scenario: string, store: string, phase: string, samples: Sample[]) {
  const times = samples.map((sample) => sample.ms).sort((a, b) => a - b)
  const errors = samples.filter((sample) => !sample.ok).length
  return [
    scenario,
    store,
    phase,
    formatNumber(samples.length - errors),
    formatNumber(errors),
    formatNumber(percentile(times, 50), 1),
    formatNumber(percentile(times, 99), 1),
    formatNumber(times.at(-1) ?? Number.NaN, 1),
  ]
}

export async function measureOutage(startApp: StartApp, outageSeconds: number) {
  const rows: string[][] = []
  const errorsAfter = new Map<string, number>()
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  for (const scenario of ["kill -9, restart", "SIGSTOP, SIGCONT"] as const) {
    for (const store of ["ours", "connect-redis"]) {
      const server = await RestartableServer.start()
      const app = await startApp(store, server.url)
      try {
        const cookies = await Promise.all(Array.from({length: USERS}, () => login(app.port)))
        let outageStart = 0
        let recovered = 0
        const samples = await underLoad(app.port, cookies, async () => {
          await wait(1_000)
          outageStart = performance.now()
          if (scenario === "kill -9, restart") await server.kill()
          else server.pause()
          await wait(outageSeconds * 1_000)
          if (scenario === "kill -9, restart") await server.restart()
          else server.resume()
          recovered = performance.now()
          // Reconnecting takes the client up to half a second: judge "after" from then on.
          await wait(3_000)
        })
        const name = store === "ours" ? "redis-session-store" : "connect-redis 10"
        // "before": answered before the outage began; a request in flight then is "during".
        const before = samples.filter((sample) => sample.at + sample.ms < outageStart)
        const during = samples.filter(
          (sample) => sample.at + sample.ms >= outageStart && sample.at < recovered,
        )
        const after = samples.filter((sample) => sample.at >= recovered + 1_000)
        rows.push(phaseRow(scenario, name, "before", before))
        rows.push(phaseRow(scenario, name, `during (${outageSeconds} s)`, during))
        rows.push(phaseRow(scenario, name, "after (from 1 s on)", after))
        errorsAfter.set(`${scenario}/${name}`, after.filter((sample) => !sample.ok).length)
      } finally {
        app.child.send("exit")
        await new Promise((resolve) => app.child.once("exit", resolve))
        await server.stop()
      }
    }
  }
  return {
    markdown: [
      markdownTable(
        ["outage", "store", "phase", "answered (200)", "errors", "p50 ms", "p99 ms", "max ms"],
        rows,
      ),
      "",
      `${USERS} users send GET /read (a touch) in a loop through each app, default settings (ours: timeout 2000 ms, connection events on). Errors are non-200 answers and requests given up after ${GIVE_UP_MS / 1000} s. "before" counts requests answered before Redis went away; "during", those in flight then or started before it came back. During the outage our app answers without a session (express-session skips a store that said "disconnect"); "after" starts 1 s after Redis is back.`,
    ].join("\n"),
    errorsAfter,
  }
}
