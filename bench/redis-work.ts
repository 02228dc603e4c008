// What a request costs inside Redis, counted three ways that do not double count scripts:
//
// - the commands clients sent, from MONITOR (a command a Lua script ran is marked "lua" there
//   and left out: it was no round trip). INFO commandstats counts those too, so its calls are
//   not round trips;
// - the µs Redis spent in the commands clients sent: commandstats' usec, with the share of
//   each command that scripts ran left out (a script's own usec already holds it);
// - the CPU time of the redis-server process (INFO cpu): everything it did for the requests,
//   reading, parsing and answering included.

import {CommandMonitor} from "../test/support/command-monitor.js"
import type {RedisServer} from "../test/support/redis-servers.js"

/** How often each command came from a client and from inside a script, over a while. */
export interface CommandSources {
  client: Map<string, number>
  script: Map<string, number>
}

/** Records what the server runs while `work` runs (MONITOR: for short, unmeasured runs only). */
export async function monitored(
  server: RedisServer,
  work: () => Promise<unknown>,
): Promise<CommandSources> {
  const monitor = await CommandMonitor.start(server)
  await work()
  const sources: CommandSources = {client: new Map(), script: new Map()}
  for (const {args, from} of await monitor.stop()) {
    const name = String(args[0]).toLowerCase()
    const into = from === "lua" ? sources.script : sources.client
    into.set(name, (into.get(name) ?? 0) + 1)
  }
  return sources
}

export function total(counts: Map<string, number>): number {
  let sum = 0
  for (const count of counts.values()) sum += count
  return sum
}

interface Stats {
  usec: Map<string, number>
  cpuSeconds: number
}

/** commandstats' usec per command, and the server's CPU seconds so far. */
export async function redisStats(server: RedisServer): Promise<Stats> {
  const info = String(await server.command("INFO", "all"))
  const usec = new Map<string, number>()
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) {
    usec.set(match[1] as string, Number(match[2]))
  }
  const cpu = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0)
  return {usec, cpuSeconds: cpu("used_cpu_user") + cpu("used_cpu_sys")}
}

/**
 * µs in the commands clients sent, between two readings: each command's usec counted for the
 * share of its calls that clients (not scripts) made, as `sources` saw them.
 */
export function clientMicros(before: Stats, after: Stats, sources: CommandSources): number {
  let micros = 0
  for (const [name, usec] of after.usec) {
    const spent = usec - (before.usec.get(name) ?? 0)
    const client = sources.client.get(name) ?? 0
    const script = sources.script.get(name) ?? 0
    if (client + script === 0) continue
    micros += (spent * client) / (client + script)
  }
  return micros
}
