// Where an app's CPU goes on one route, ours against connect-redis 10 and 11: each app is
// profiled (the inspector's CPU profiler, started after a warm-up) for the same load, and its
// samples are summed by where the code lives (our built package, the Redis client, express
// and express-session, Node itself...).
//
//   node --import tsx bench/profile.ts [read|write] [seconds]
//
// Prints a markdown table of self time per part, as a share of the app's samples and as µs
// per request. Needs the built package (npm run build).

import type {ChildProcess} from "node:child_process"
import {copyFile, mkdtemp, readFile, rm} from "node:fs/promises"
import {tmpdir} from "node:os"
import {join} from "node:path"
import {startRedisServer} from "../test/support/redis-servers.js"
import {load, loginMany, startApp, stopApp} from "./end-to-end.js"
import {formatNumber, markdownTable} from "./stats.js"

interface ProfileNode {
  id: number
  callFrame: {url: string; functionName: string}
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  startTime: number
  endTime: number
}

/** The part of the app a frame belongs to, by its source file. */
function partOf(node: ProfileNode): string {
  const {url, functionName} = node.callFrame
  if (url === "") {
    return ["(garbage collector)", "(idle)", "(program)"].includes(functionName)
      ? functionName
      : "node (native)"
  }
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inPackage !== null) {
    const name = inPackage[1] as string
    if (name.startsWith("@redis") || name === "redis" || name === "cluster-key-slot")
      return "redis client"
    if (name.startsWith("connect-redis")) return "the store"
    return name === "express-session" ? "express-session" : "express and the rest"
  }
  if (url.includes("/dist/")) return "the store"
  if (url.startsWith("node:")) return "node (JavaScript)"
  return "other"
}

/** Sends the app a message and waits for its answer that has `field`. */
function ask(app: {child: ChildProcess}, message: unknown, field: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (answer: Record<string, unknown>) => {
      if (typeof answer !== "object" || answer === null || !(field in answer)) return
      app.child.off("message", listener)
      resolve()
    }
    app.child.on("message", listener)
    app.child.send(message as string)
  })
}

async function profileOne(store: string, route: "read" | "write", seconds: number, url: string) {
  const dir = await mkdtemp(join(tmpdir(), "rss-prof-"))
  const file = join(dir, "app.cpuprofile")
  const app = await startApp(store, url)
  const cookies = await loginMany(app.port)
  await load(app.port, cookies, route, 2)
  await ask(app, {profile: "start"}, "profiled")
  const result = await load(app.port, cookies, route, seconds)
  await ask(app, {profile: file}, "profiled")
  await stopApp(app)
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile
  // PROFILE_DIR=<folder> keeps each app's profile there (<store>-<route>.cpuprofile), to open
  // in Chrome's DevTools or to sum by function.
  const keep = process.env.PROFILE_DIR
  if (keep) await copyFile(file, join(keep, `${store}-${route}.cpuprofile`))
  await rm(dir, {recursive: true})
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const counts = new Map<string, number>()
  for (const id of profile.samples) {
    const part = partOf(byId.get(id) as ProfileNode)
    counts.set(part, (counts.get(part) ?? 0) + 1)
  }
  const microsPerSample = (profile.endTime - profile.startTime) / profile.samples.length
  return {counts, microsPerSample, requests: result.total, samples: profile.samples.length}
}

async function main() {
  const route = (process.argv[2] ?? "read") as "read" | "write"
  const seconds = Number(process.argv[3] ?? 5)
  const server = await startRedisServer()
  // STORES=ours,ours-overwrite profiles other apps of bench/app.ts.
  const stores = (process.env.STORES ?? "ours,connect-redis,connect-redis-11").split(",")
  const results: Awaited<ReturnType<typeof profileOne>>[] = []
  for (const store of stores) results.push(await profileOne(store, route, seconds, server.url))
  await server.stop()
  const parts = [...new Set(results.flatMap((result) => [...result.counts.keys()]))].filter(
    (part) => part !== "(idle)",
  )
  const rows = parts.map((part) => [
    part,
    ...results.map((result) => {
      const count = result.counts.get(part) ?? 0
      const busy = result.samples - (result.counts.get("(idle)") ?? 0)
      const micros = (count * result.microsPerSample) / result.requests
      return `${formatNumber((100 * count) / busy, 1)} % · ${formatNumber(micros, 2)} µs`
    }),
  ])
  console.log(
    `${route} route, ${seconds} s of load, 32 connections; self time by part, as a share of the app's busy samples and per request\n`,
  )
  console.log(markdownTable(["part", ...stores], rows))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
