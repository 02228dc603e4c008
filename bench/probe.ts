// A second process that keeps sending GETs to every Redis master (one every millisecond or
// so) and reports the slowest reply between "start" and "stop". It shows how long a bulk
// operation blocked Redis for everybody else.
//
// argv: the URLs of the masters.

import {setTimeout as delay} from "node:timers/promises"
import {createClient} from "redis"

async function connectedProbe(url: string) {
  const client = createClient({url})
  client.on("error", () => {})
  await client.connect()
  // On a cluster node, use a key this node owns (others answer MOVED).
  for (let i = 0; i < 10_000; i++) {
    const key = `probe:${i}`
    try {
      await client.get(key)
      return {client, key}
    } catch {
      // MOVED: another node owns this key.
    }
  }
  throw new Error(`No key found for ${url}`)
}

async function main() {
  const probes = await Promise.all(process.argv.slice(2).map(connectedProbe))
  let slowest = 0
  let running = true
  const loops = probes.map(async ({client, key}) => {
    while (running) {
      const started = performance.now()
      await client.get(key)
      slowest = Math.max(slowest, performance.now() - started)
      await delay(1)
    }
  })
  process.on("message", (message) => {
    if (message === "start") slowest = 0
    if (message === "stop") process.send?.({slowest})
    if (message === "exit") {
      running = false
      void Promise.all(loops).then(async () => {
        await Promise.all(probes.map(({client}) => client.close()))
        process.exit(0)
      })
    }
  })
  process.send?.({ready: true})
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
