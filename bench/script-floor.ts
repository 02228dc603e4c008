// How low a merged write can go inside Redis: usec_per_call (INFO commandstats) of the plain
// commands connect-redis sends, of the store's write script, and of the scripts that do less
// and less (one SET, nothing), with the same arguments, on the bench's session. Issue 30
// asked for a merged write request at most 3x connect-redis's work inside Redis; this shows
// where the floor of a Lua script lies on the server at hand.
//
//   node --import tsx bench/script-floor.ts [rounds] [calls]
//
// One client, sequential calls, stats reset before each row; median (min-max) over rounds,
// rows interleaved within each round. Server time only: the client and the network do not
// enter it.

import {createHash} from "node:crypto"
import {createClient} from "redis"
import {WRITE_IF_UNCHANGED} from "../src/redis/scripts.js"
import {startRedisServer} from "../test/support/redis-servers.js"
import {realisticSession} from "./common.js"
import {formatNumber, markdownTable, summarize} from "./stats.js"

const rounds = Number(process.argv[2] ?? 9)
const calls = Number(process.argv[3] ?? 20_000)
const KEY = "sess:floor"
const LIFE = "86400000"

// The store's script, with the base's SHA-1 in place of the base (the suggestion).
const BY_DIGEST = WRITE_IF_UNCHANGED.source.replace(
  "if held and held ~= ARGV[1] then",
  "if held and redis.sha1hex(held) ~= ARGV[1] then",
)
const SCRIPTS = {
  store: WRITE_IF_UNCHANGED.source,
  digest: BY_DIGEST,
  setGet: "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'GET') return 1",
  set: "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1",
  nothing: "return 1",
}
if (BY_DIGEST === WRITE_IF_UNCHANGED.source)
  throw new Error("the write script changed: update BY_DIGEST")

const server = await startRedisServer()
const client = createClient({url: server.url})
await client.connect()
const value = JSON.stringify(realisticSession())
const digest = createHash("sha1").update(value).digest("hex")
const sha: Record<string, string> = {}
for (const [name, source] of Object.entries(SCRIPTS)) {
  sha[name] = String(await client.sendCommand(["SCRIPT", "LOAD", source]))
}
const scriptArgs = (name: keyof typeof SCRIPTS, base = value) => [
  "EVALSHA",
  sha[name] as string,
  "1",
  KEY,
  base,
  value,
  LIFE,
  "1",
]

/** A row: what it is, the command commandstats files it under, and its arguments. */
const ROWS: [string, string, string[]][] = [
  ["GET (connect-redis's read)", "get", ["GET", KEY]],
  ["SET EX (connect-redis's write)", "set", ["SET", KEY, value, "EX", "86400"]],
  ["GETEX PX (the store's renewing read)", "getex", ["GETEX", KEY, "PX", LIFE]],
  ["SET PX GET, sent alone", "set", ["SET", KEY, value, "PX", LIFE, "GET"]],
  ["EVALSHA: the store's write script", "evalsha", scriptArgs("store")],
  ["EVALSHA: the same, comparing SHA-1 digests", "evalsha", scriptArgs("digest", digest)],
  ["EVALSHA: SET PX GET and nothing else", "evalsha", scriptArgs("setGet")],
  ["EVALSHA: SET PX and nothing else", "evalsha", scriptArgs("set")],
  ["EVALSHA: nothing, same arguments", "evalsha", scriptArgs("nothing")],
  ["EVALSHA: nothing, no arguments", "evalsha", ["EVALSHA", sha.nothing as string, "1", KEY]],
]

const micros = new Map<string, number[]>(ROWS.map(([name]) => [name, []]))
for (let round = 0; round < rounds; round++) {
  for (const [name, command, args] of ROWS) {
    await client.set(KEY, value)
    await client.sendCommand(["CONFIG", "RESETSTAT"])
    for (let i = 0; i < calls; i++) await client.sendCommand(args)
    const info = String(await client.sendCommand(["INFO", "commandstats"]))
    const match = new RegExp(
      `^cmdstat_${command}:calls=\\d+,usec=\\d+,usec_per_call=([\\d.]+)`,
      "m",
    )
    micros.get(name)?.push(Number(match.exec(info)?.[1]))
  }
}
await client.quit()
await server.stop()

const median = (name: string) => summarize(micros.get(name) ?? []).median
const theirs = median(ROWS[0]?.[0] as string) + median(ROWS[1]?.[0] as string)
const ours = median(ROWS[2]?.[0] as string)
console.log(
  `usec_per_call, median (min-max) over ${rounds} rounds of ${calls} calls; session of ${value.length} bytes.\n`,
)
console.log(
  markdownTable(
    ["command", "µs inside Redis", "with the renewing read, over connect-redis's GET + SET"],
    ROWS.map(([name]) => {
      const stats = summarize(micros.get(name) ?? [])
      const cell = `${formatNumber(stats.median, 2)} (${formatNumber(stats.min, 2)}–${formatNumber(stats.max, 2)})`
      const request = name.startsWith("EVALSHA")
        ? `${formatNumber((ours + stats.median) / theirs, 2)} ×`
        : ""
      return [name, cell, request]
    }),
  ),
)
