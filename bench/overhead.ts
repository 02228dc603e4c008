// The store's own cost per call, apart from Redis and the network: our store, connect-redis 10
// and the raw client's code for the same command, over a stand-in client whose commands
// resolve at once. On a noisy machine this resolves nanoseconds where the wall-clock rounds of
// section 1 resolve only a few percent. It is a profile of our code, not a test of Redis.
// Each group of rows runs in a process of its own (overhead-group.ts).

import {execFile} from "node:child_process"
import {fileURLToPath} from "node:url"
import {promisify} from "node:util"
import {type Target, target} from "./common.js"
import {GROUPS, type OverheadRow} from "./overhead-group.js"
import {formatNumber, formatSummary, markdownTable} from "./stats.js"

const run = promisify(execFile)

async function measureGroup(group: string, rounds: number, calls: number) {
  const script = fileURLToPath(new URL("./overhead-group.ts", import.meta.url))
  const {stdout} = await run(
    process.execPath,
    ["--import", "tsx", script, group, `${rounds}`, `${calls}`],
    {maxBuffer: 1 << 24},
  )
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as OverheadRow[]
}

export async function measureOverhead(
  rounds: number,
  calls: number,
): Promise<{markdown: string; targets: Target[]}> {
  const rows: OverheadRow[] = []
  for (const group of GROUPS) rows.push(...(await measureGroup(group, rounds, calls)))
  const targets: Target[] = []
  const median = (client: string, label: string) =>
    rows.find((r) => r.client === client && r.label === label)?.ours.median ?? Number.NaN
  for (const row of rows) {
    // destroy differs by design: a tombstone script where connect-redis sends DEL.
    if (row.theirs === undefined || row.label.startsWith("destroy")) continue
    targets.push(
      target(
        `store's own cost per ${row.label}: no more than connect-redis 10's (over the raw client)`,
        row.ours.median <= row.theirs.median,
        `${signed(row.ours.median)} ns against ${signed(row.theirs.median)} ns`,
      ),
    )
  }
  for (const client of ["node-redis", "ioredis"]) {
    const base = median(client, "set, overwrite")
    for (const label of ["set", "save of a loaded session (merge script)"]) {
      const extra = median(client, label) - base
      targets.push(
        target(
          `concurrentWrites "merge", ${client} ${label}: at most 300 ns more of the store's own cost than "overwrite"`,
          extra <= 300,
          `${signed(extra)} ns`,
        ),
      )
    }
  }
  const markdown = [
    markdownTable(
      [
        "client",
        "operation",
        "ours ns/call",
        "connect-redis 10 ns/call",
        "raw code ns/call",
        "ours − raw",
        "connect-redis − raw",
      ],
      rows.map((row) => [
        row.client,
        row.label,
        formatSummary(row.oursNs),
        row.theirsNs ? formatSummary(row.theirsNs) : "—",
        formatSummary(row.rawNs),
        formatSummary(row.ours),
        row.theirs ? formatSummary(row.theirs) : "—",
      ]),
    ),
    "",
    `Median (min–max) over ${rounds} rounds of ${formatNumber(calls)} sequential calls of the built package (dist/, as published), against a stand-in client (node-redis's shape, then ioredis's) whose commands resolve at once, so what is left is the code on each side: argument checks, TTL, serialization, the time bound (on, 2000 ms, the default), the promise path. Contenders run back to back in each round, in rotating order; the differences are taken within the round. Each store configuration (client shape, concurrentWrites, a subscriber or none) runs in a process of its own, as an app runs one store: measured in one process, a configuration measured later paid for code an earlier one had left polymorphic. The raw code sends the same commands as the store (GETEX PX for get, SET ... PX ... GET for set, the re-time script for a touch the read did not cover and the tombstone script for destroy, both by EVALSHA, as tombstones are on by default); connect-redis 10 sends SET EX, EXPIRE and DEL, and takes node-redis only (connect-redis 11 runs the same code, bundled as an ES module, so it has no column of its own here). Rows without "callback" call the promise API, as a script does; rows with "callback" call as express-session does: with a callback, and get's callback builds the request's Session with the store's createSession (the raw code's with express-session's own Store.createSession). Rows ", timeout 0" are the default store with the time bound off (timeout: 0): their difference from the rows without it is what the bound costs per call (its own promise and its share of a slice), a price connect-redis, which bounds nothing, does not pay. The rows "one diagnostics subscriber" are the same store while a subscriber that counts outcomes listens to every operation channel (docs/diagnostics.md); every other row runs with no subscriber, which is the store's default path. Rows without ", overwrite" are concurrentWrites "merge" (the default; set is of a session no request loaded, as a new one); ", overwrite" rows are connect-redis's behaviour, which notes nothing on a read and needs no note at a save; "save of a loaded session" is the merge script (EVALSHA, against raw code sending the same script), what a request that loaded its session sends when no other write came in between. A real GET/SET/EXPIRE round trip through node-redis costs the client 14–21 µs of CPU (section 1).`,
  ].join("\n")
  return {markdown, targets}
}

/** A difference with its sign: "+84", "-148". */
function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${formatNumber(value)}`
}
