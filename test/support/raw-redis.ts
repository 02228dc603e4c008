// Reads and writes Redis directly over RESP, never through the code under test, so a test
// can check what really is in Redis. On a cluster it asks the master that owns the key.

import {CommandMonitor, type SeenCommand} from "./command-monitor.js"
import type {RedisServer, Reply} from "./redis-servers.js"

export class RawRedis {
  #monitors: CommandMonitor[] = []

  constructor(readonly masters: readonly RedisServer[]) {}

  /** Runs a single-key command on the master that owns `key`. */
  async onKey(key: string, ...args: (string | number)[]): Promise<Reply> {
    let lastMoved: Reply = null
    for (const master of this.masters) {
      const reply = await master.command(...args)
      if (reply instanceof Error && reply.message.startsWith("MOVED")) {
        lastMoved = reply
        continue
      }
      if (reply instanceof Error) throw reply
      return reply
    }
    throw new Error(`No master owns ${key}: ${String(lastMoved)}`)
  }

  get(key: string): Promise<Reply> {
    return this.onKey(key, "GET", key)
  }

  set(key: string, value: string, ...options: (string | number)[]): Promise<Reply> {
    return this.onKey(key, "SET", key, value, ...options)
  }

  async ttl(key: string): Promise<number> {
    return Number(await this.onKey(key, "TTL", key))
  }

  /** Milliseconds the key has left (-1: no expiry, -2: no key). */
  async pttl(key: string): Promise<number> {
    return Number(await this.onKey(key, "PTTL", key))
  }

  /** The Redis type at `key`: "string" for a session, "hash" for a tombstone, "none". */
  async type(key: string): Promise<string> {
    return String(await this.onKey(key, "TYPE", key))
  }

  async exists(key: string): Promise<boolean> {
    return Number(await this.onKey(key, "EXISTS", key)) === 1
  }

  /** Every key matching a glob, over all masters (KEYS is fine on test data). */
  async keys(pattern: string): Promise<string[]> {
    const replies = await Promise.all(this.masters.map((master) => master.command("KEYS", pattern)))
    return replies.flatMap((reply) => (Array.isArray(reply) ? reply.map(String) : [])).sort()
  }

  /** Calls of each command since the last reset, summed over all masters. */
  async commandCalls(): Promise<Map<string, number>> {
    const calls = new Map<string, number>()
    for (const master of this.masters) {
      const info = String(await master.command("INFO", "commandstats"))
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1] as string
        calls.set(name, (calls.get(name) ?? 0) + Number(match[2]))
      }
    }
    return calls
  }

  /**
   * The names of the commands a client sent for keys under `prefix` while `run` ran, in
   * order (what a script runs inside is not counted: that is still one round trip).
   */
  async commandsFor(prefix: string, run: () => Promise<unknown>): Promise<string[]> {
    await this.recordCommands()
    await run()
    return (await this.recordedCommands())
      .filter((args) => args.some((arg) => arg.startsWith(prefix)))
      .map((args) => String(args[0]).toUpperCase())
  }

  /** Makes every master forget its cached Lua scripts, as a restart does. */
  async flushScripts(): Promise<void> {
    await Promise.all(this.masters.map((master) => master.command("SCRIPT", "FLUSH")))
  }

  async resetStats(): Promise<void> {
    await Promise.all(this.masters.map((master) => master.command("CONFIG", "RESETSTAT")))
  }

  /** Records every command clients send to any master from now on (MONITOR on each). */
  async recordCommands(): Promise<void> {
    await this.#stopMonitors()
    this.#monitors = await Promise.all(this.masters.map((master) => CommandMonitor.start(master)))
  }

  /**
   * The commands clients sent since recordCommands(), as argument lists, master after
   * master, oldest first. Commands a Lua script ran are left out (one script call is one
   * round trip), and so are a sentinel's and a replica's own.
   */
  async recordedCommands(): Promise<string[][]> {
    const perMaster = await this.#stopMonitors()
    const commands: string[][] = []
    for (const [i, seen] of perMaster.entries()) {
      const master = this.masters[i] as RedisServer
      const sentinels = await sentinelAddresses(master)
      for (const {args, from} of seen) {
        // A sentinel's connections (named sentinel-...) and a replica's REPLCONF are the
        // servers' housekeeping, not a client's command.
        if (sentinels.has(from) || args[0]?.toUpperCase() === "REPLCONF") continue
        // A script's own commands: one script call is one round trip.
        if (from === "lua") continue
        commands.push(args)
      }
    }
    return commands
  }

  async #stopMonitors(): Promise<SeenCommand[][]> {
    const monitors = this.#monitors
    this.#monitors = []
    return Promise.all(monitors.map((monitor) => monitor.stop()))
  }
}

/** The addresses of a server's connections that a sentinel opened. */
async function sentinelAddresses(server: RedisServer): Promise<Set<string>> {
  const list = String(await server.command("CLIENT", "LIST"))
  const addresses = new Set<string>()
  for (const line of list.split("\n")) {
    const address = /(?:^| )addr=(\S+)/.exec(line)?.[1]
    if (address && /(?:^| )name=sentinel-/.test(line)) addresses.add(address)
  }
  return addresses
}
