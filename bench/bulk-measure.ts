// How bulk work is measured: its time, the slowest GET another process saw meanwhile, the
// longest command inside Redis (SLOWLOG), the event-loop delay, and the live heap it held.

import {type ChildProcess, fork} from "node:child_process"
import {monitorEventLoopDelay} from "node:perf_hooks"
import type {LuaScript} from "../src/redis/scripts.js"
import * as scripts from "../src/redis/scripts.js"
import type {RedisServer} from "../test/support/redis-servers.js"
import {MiB, pinTo} from "./common.js"

export interface BulkSample {
  ms: number
  heapMiB: number
  loopDelayMs: number
  slowestGetMs: number
  /** The longest single command any master ran meanwhile, from its SLOWLOG (µs). */
  longestCommandMicros: number
  /** Its name ("EVALSHA tombstone-on-node" for a script); "" when none was logged. */
  longestCommandName: string
  /** The command kind with the highest average time per call meanwhile (µs), and its name. */
  heaviestAverageMicros: number
  heaviestAverageName: string
  error?: string
}

/** Commands shorter than this are not logged: the report says "< 0.2 ms" for them. */
export const SLOWLOG_THRESHOLD_MICROS = 200

/** Server-side view of blocking: each master's SLOWLOG keeps every command over 0.2 ms. */
export class CommandLog {
  constructor(private readonly masters: readonly RedisServer[]) {}

  async start() {
    await Promise.all(
      this.masters.map(async (master) => {
        await master.command("CONFIG", "SET", "slowlog-log-slower-than", SLOWLOG_THRESHOLD_MICROS)
        await master.command("CONFIG", "SET", "slowlog-max-len", 10_000)
        await master.command("SLOWLOG", "RESET")
        await master.command("CONFIG", "RESETSTAT")
      }),
    )
  }

  /**
   * The command kind with the highest average time per call since start(), on any master
   * (INFO commandstats). Steadier than the longest single command: on this machine the three
   * masters of a cluster share one core, so one master's command can be paused while a
   * sibling runs, and SLOWLOG (wall time) then counts the sibling's time too.
   */
  async heaviest(): Promise<{micros: number; name: string}> {
    let heaviest = {micros: 0, name: ""}
    for (const master of this.masters) {
      const info = String(await master.command("INFO", "commandstats"))
      for (const match of info.matchAll(
        /^cmdstat_(\S+?):calls=(\d+),.*?usec_per_call=([\d.]+)/gm,
      )) {
        const [, name = "", calls, perCall] = match
        if (OWN_COMMANDS.has(name.toUpperCase()) || Number(calls) < 10) continue
        if (Number(perCall) > heaviest.micros) heaviest = {micros: Number(perCall), name}
      }
    }
    return heaviest
  }

  /**
   * The longest command logged since start() (0 µs when none was over the threshold), named:
   * a stall of the whole machine shows as a cheap command (a SCAN) taking milliseconds.
   */
  async longest(): Promise<{micros: number; name: string}> {
    let longest = {micros: 0, name: ""}
    for (const master of this.masters) {
      const entries = await master.command("SLOWLOG", "GET", -1)
      for (const entry of Array.isArray(entries) ? entries : []) {
        if (!Array.isArray(entry) || Number(entry[2]) <= longest.micros) continue
        const name = commandName(entry[3])
        // The log's own RESET (10,000 entries take milliseconds to free) is logged too.
        if (!OWN_COMMANDS.has(name.split(" ")[0] as string)) {
          longest = {micros: Number(entry[2]), name}
        }
      }
    }
    return longest
  }
}

/** What the benchmark itself sends to a master to measure it: never the store's cost. */
const OWN_COMMANDS = new Set(["SLOWLOG", "CONFIG", "INFO", "CLUSTER"])

const SCRIPT_NAMES = new Map(
  Object.values(scripts)
    .filter((value): value is LuaScript => typeof value === "object" && "sha" in value)
    .map((script) => [script.sha, script.name]),
)

function commandName(args: unknown): string {
  if (!Array.isArray(args)) return "?"
  const name = String(args[0]).toUpperCase()
  return name === "EVALSHA" ? `${name} ${SCRIPT_NAMES.get(String(args[1])) ?? "?"}` : name
}

export class Probe {
  private constructor(private readonly child: ChildProcess) {}

  static async start(masterUrls: string[]): Promise<Probe> {
    const child = fork(new URL("./probe.ts", import.meta.url), masterUrls, {
      execArgv: ["--import", "tsx"],
    })
    if (!process.argv.includes("--no-pin")) pinTo(child.pid, 1)
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve())
      child.once("exit", (code) => reject(new Error(`probe exited with ${code}`)))
    })
    return new Probe(child)
  }

  begin() {
    this.child.send("start")
  }

  end(): Promise<number> {
    return new Promise((resolve) => {
      this.child.once("message", (message: {slowest: number}) => resolve(message.slowest))
      this.child.send("stop")
    })
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once("exit", resolve))
    this.child.send("exit")
    await exited
  }
}

export async function measureBulk(
  probe: Probe,
  commands: CommandLog,
  run: () => Promise<unknown>,
): Promise<BulkSample> {
  await commands.start()
  const loop = monitorEventLoopDelay({resolution: 1})
  loop.enable()
  probe.begin()
  const started = performance.now()
  let error: string | undefined
  try {
    await run()
  } catch (thrown) {
    error = thrown instanceof Error ? thrown.message : String(thrown)
  }
  const ms = performance.now() - started
  const slowestGetMs = await probe.end()
  loop.disable()
  return {
    ms,
    heapMiB: Number.NaN,
    loopDelayMs: loop.max / 1e6,
    slowestGetMs,
    ...(await commands.longest().then(({micros, name}) => ({
      longestCommandMicros: micros,
      longestCommandName: name,
    }))),
    ...(await commands.heaviest().then(({micros, name}) => ({
      heaviestAverageMicros: micros,
      heaviestAverageName: name,
    }))),
    ...(error === undefined ? {} : {error}),
  }
}

/**
 * Peak live heap of an operation, in an untimed run of its own: a full GC every 50 ms (more
 * often makes a 100 MB heap GC-bound), and the heap measured right after each, and once more
 * at the end with the result still referenced. A plain peak of heapUsed would mostly
 * count young garbage (SCAN replies already dropped) that V8 had not yet collected.
 */
export async function measureLiveHeap(run: () => Promise<unknown>): Promise<number> {
  const gc = (globalThis as {gc?: () => void}).gc
  if (!gc) return Number.NaN
  // The JS heap plus array buffers: a typed array's memory (the fingerprint table of length()
  // and entries()) lives outside the heap, and must count all the same.
  const liveHeap = () => {
    gc()
    const {heapUsed, arrayBuffers} = process.memoryUsage()
    return heapUsed + arrayBuffers
  }
  // Some of what the previous step (reseeding 100,000 keys) left is only released a moment
  // later: let it go before taking the baseline.
  liveHeap()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const before = liveHeap()
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, liveHeap())
  }, 50)
  // Held in an object so the result stays referenced until dropped on purpose below.
  const held: {result?: unknown} = {}
  try {
    held.result = await run()
    peak = Math.max(peak, liveHeap()) // with the result still referenced: what it holds counts
  } catch {
    // Failures are reported by the timed run.
  } finally {
    clearInterval(sampler)
  }
  held.result = undefined
  // The baseline is the lower of before and after (result dropped), so memory released
  // during the run cannot hide what the run itself held.
  const after = liveHeap()
  return (peak - Math.min(before, after)) / MiB
}

/** The probe's slowest GET while nothing runs: what this machine does on its own. */
export async function idleBaseline(probe: Probe, ms: number): Promise<number> {
  probe.begin()
  await new Promise((resolve) => setTimeout(resolve, ms))
  return probe.end()
}
