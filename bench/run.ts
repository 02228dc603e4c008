// Side-by-side benchmark: redis-session-store, connect-redis 10 and the raw node-redis client
// (and, in sections 1-3 and 5, the store over ioredis against raw ioredis),
// on servers this script starts itself, measured in interleaved rounds (A B C, B C A, ...)
// so that drift of a noisy machine hits every contender alike.
//
//   npm run bench             full run (a few minutes), writes bench/RESULTS.md; it builds
//                             the package first (section 5 measures dist/)
//   npm run bench -- --quick  smoke run (CI): small sizes, prints only, asserts nothing

import {readFileSync} from "node:fs"
import {writeFile} from "node:fs/promises"
import os from "node:os"
import {startCluster, startRedisServer} from "../test/support/redis-servers.js"
import {adminSection} from "./admin.js"
import {bulkCluster, bulkStandalone} from "./bulk.js"
import {
  COMMAND,
  CONCURRENCY,
  CONFIG,
  log,
  ONLY,
  pinTo,
  QUICK,
  realisticSession,
  runs,
  type Target,
} from "./common.js"
import {contentionSection} from "./contention.js"
import {endToEnd, outageSection} from "./end-to-end.js"
import {measureOverhead} from "./overhead.js"
import {perOperation} from "./per-operation.js"
import {measureRedisCost} from "./redis-cost.js"
import {redundantSection} from "./redundant.js"
import {formatNumber, markdownTable} from "./stats.js"

function versionOf(packageName: string): string {
  const url = new URL(`../node_modules/${packageName}/package.json`, import.meta.url)
  return (JSON.parse(readFileSync(url, "utf8")) as {version: string}).version
}

async function main() {
  const started = Date.now()
  const server = await startRedisServer()
  const cluster = await startCluster(3)
  const pinned =
    !process.argv.includes("--no-pin") &&
    pinTo(process.pid, 0) &&
    [server, ...cluster.nodes].every((node) => pinTo(node.pid, 1))
  try {
    const info = String(await server.command("INFO", "server"))
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown"

    const skipped = {markdown: "(not run)", targets: [] as Target[]}
    const ops = runs("ops") ? await perOperation(server) : skipped
    const standalone = runs("bulk") ? await bulkStandalone(server) : skipped
    const clustered = runs("cluster") ? await bulkCluster(cluster) : skipped
    const e2e = runs("e2e") ? await endToEnd() : skipped
    log("5. the store's own cost per call")
    const overhead = runs("overhead")
      ? await measureOverhead(QUICK ? 3 : 21, QUICK ? 20_000 : 200_000)
      : skipped
    log("6. cost inside Redis per operation")
    const redisCost = runs("redis")
      ? await measureRedisCost(server, realisticSession(), QUICK ? 1 : 9, QUICK ? 200 : 2_000)
      : skipped

    log("7. an outage under HTTP load")
    const outage = runs("outage") ? await outageSection() : skipped
    const redundant = runs("redundant") ? await redundantSection() : skipped
    const admin = runs("admin") ? await adminSection(server) : skipped
    const contention = runs("contention") ? await contentionSection(server) : skipped

    const targets = [
      ...ops.targets,
      ...standalone.targets,
      ...clustered.targets,
      ...e2e.targets,
      ...overhead.targets,
      ...redisCost.targets,
      ...outage.targets,
      ...redundant.targets,
      ...admin.targets,
      ...contention.targets,
    ]
    const report = [
      "# Benchmark results",
      "",
      `Command: \`${COMMAND}\` (${QUICK ? "quick smoke run: small sizes, not for claims" : "full run"}).`,
      "",
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown CPU"}, ${formatNumber(os.totalmem() / 1024 ** 3)} GiB, ${os.platform()} ${os.release()}`,
      `- Node.js ${process.version}, Redis ${redisVersion}`,
      `- redis (node-redis) ${versionOf("redis")}, redis5 (node-redis) ${versionOf("redis5")}, ioredis ${versionOf("ioredis")}, connect-redis ${versionOf("connect-redis")}, express-session ${versionOf("express-session")}, autocannon ${versionOf("autocannon")}`,
      `- Took ${formatNumber((Date.now() - started) / 1000)} s; ${pinned ? "benchmark process pinned to core 0, Redis, probe and HTTP apps to core 1 (taskset)" : "processes not pinned to cores"}`,
      "",
      "Every number is the median over interleaved rounds, with (min–max). On this machine class",
      "the control column of section 1 (identical code against itself) lands up to 10% from 1.0:",
      "read differences smaller than that as noise, and see section 5 for the store's own cost.",
      "",
      "## Targets",
      "",
      markdownTable(
        ["target", "measured", "met"],
        targets.map((t) => [t.text, t.value, t.met ? "yes" : "**no**"]),
      ),
      "",
      `## 1. get / set / touch / destroy, ${CONCURRENCY} concurrent callers`,
      "",
      ops.markdown,
      "",
      `## 2. Bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, standalone Redis (scanCount 100)`,
      "",
      standalone.markdown,
      "",
      "Slowest concurrent GET: the slowest reply another process got while it sent one GET about",
      "every millisecond during the operation, i.e. how long the operation blocked Redis for",
      "everyone else; the (idle) row is the same probe while nothing runs. Longest command in Redis: the longest single command any master executed during the operation, from its SLOWLOG (server time: network and client noise do not enter it, but a stall of the whole machine during a command does; commands under 0.2 ms are not logged). Peak live heap: the most this process's heap and array buffers (where typed arrays keep their memory) held above their level before, measured in a separate untimed run with a full GC every 50 ms (so young garbage is not counted).",
      "",
      `## 3. Bulk on ${formatNumber(CONFIG.bulkSessions)} sessions, three-master cluster`,
      "",
      clustered.markdown,
      "",
      "## 4. End to end: express-session and @fastify/session over HTTP, against connect-redis 10 and 11",
      "",
      e2e.markdown,
      "",
      "## 5. The store's own cost per call",
      "",
      overhead.markdown,
      "",
      "## 6. Cost inside Redis per operation",
      "",
      redisCost.markdown,
      "",
      "## 7. An outage under HTTP load",
      "",
      outage.markdown,
      "",
      "## 8. Redundant mode over HTTP: two servers against one, and one of two down",
      "",
      redundant.markdown,
      "",
      "## 9. Admin work on a million sessions",
      "",
      admin.markdown,
      "",
      "## 10. Concurrent saves of one session",
      "",
      contention.markdown,
      "",
    ].join("\n")
    process.stdout.write(`${report}\n`)
    if (!QUICK && ONLY === undefined) {
      await writeFile(new URL("./RESULTS.md", import.meta.url), report)
      log("wrote bench/RESULTS.md")
    }
  } finally {
    await cluster.stop()
    await server.stop()
  }
}

// Ctrl+C: exit normally, so the server helper's exit hook stops every redis-server it started.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130))

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
